/* targets/devices.c — one row per Apple chip (A11 onward, M-series base/Pro/Max/Ultra), data
 * only: the family row each maps to, its public Neural Engine figure, the fp16 peak estimates
 * use, memory bandwidth and core count, each with its source or marked assumed, and the
 * device aliases (iPhone models) that name the chip unambiguously.
 *
 * Generations follow two ladders: A(n) = H(n - 1) and M(n) = H(n + 12). The M ladder is how
 * Apple's Mac model identifiers count (Mac14,x are M2 machines); the A ladder pairs chips whose
 * Neural Engines Apple quotes alike (A14 and M1: 16 cores, 11 trillion ops/s; A15 and M2: 15.8)
 * and is assumed from A16 on (A16 17 vs M3 18; A17 Pro 35 vs M4 38, both counted in int8). */
#include "aneforge/targets.h"

#define FIG(v, s) {(v), s, 0}
#define ASSUMED(v, s) {(v), s, 1}

/* ---- family mapping ---------------------------------------------------------------------- */
#define FAM_SAME(m)                                                                             \
    "Apple's own figures pair it with " m " (same core count and ops/s): the same generation"
#define FAM_LADDER "the M(n) = H(n + 12) ladder (Apple's Mac model identifiers: Mac14,x = M2)"
#define FAM_A_ASSUMED(m)                                                                        \
    "assumed: the A(n) = H(n - 1) ladder; Apple's figures are close to " m "'s, not equal"
#define FAM_OLD                                                                                 \
    "assumed: generation older than every family row; extrapolated from h13 (the oldest), whose " \
    "op floor and caps it may not meet"
#define FAM_NEW "assumed: generation newer than every family row; extrapolated from h17s (the newest)"

/* ---- peaks (Apple's headline Neural Engine figures) -------------------------------------- */
#define SRC_A11 "Apple iPhone 8 / iPhone X keynote (2017-09-12): 2-core Neural Engine, 600 billion ops/s"
#define SRC_A12 "Apple Newsroom, 'iPhone XS and iPhone XS Max' (2018-09-12): 8-core Neural Engine, 5 trillion ops/s"
#define SRC_A13_CORES "Apple iPhone 11 Pro keynote (2019-09-10): 8-core Neural Engine"
#define SRC_A13_TOPS "assumed: Apple quotes A13's Neural Engine as 20% faster than A12's, no ops/s; 5 x 1.2"
#define SRC_A14 "Apple Newsroom, 'all-new iPad Air with A14 Bionic' (2020-09-15): 16-core Neural Engine, 11 trillion ops/s"
#define SRC_A15 "Apple Newsroom, 'iPhone 13 Pro and iPhone 13 Pro Max' (2021-09-14): 16-core Neural Engine, 15.8 trillion ops/s"
#define SRC_A16 "Apple Newsroom, 'iPhone 14 Pro and iPhone 14 Pro Max' (2022-09-07): 16-core Neural Engine, nearly 17 trillion ops/s"
#define SRC_A17 "Apple Newsroom, 'iPhone 15 Pro and iPhone 15 Pro Max' (2023-09-12): 16-core Neural Engine, up to 35 trillion ops/s"
#define SRC_A18_CORES "Apple Newsroom, 'iPhone 16' and 'iPhone 16 Pro' (2024-09-09): 16-core Neural Engine"
#define SRC_A18_TOPS "assumed: Apple quotes no ops/s for A18; public report (hollance/neural-engine notes): 35, as A17 Pro"
#define SRC_A19_CORES "Apple 'iPhone 17' and 'iPhone 17 Pro' announcement (2025-09-09): 16-core Neural Engine"
#define SRC_A19_TOPS "assumed: no public figure for A19; taken as A18's 35"
#define SRC_INT8_HALF "assumed: Apple's headline counts int8 from A17 Pro and M4 on; fp16 taken as half"
#define SRC_M1 "Apple Newsroom, 'Apple unleashes M1' (2020-11-10): 16-core Neural Engine, 11 trillion ops/s"
#define SRC_M1_BW "Apple M1 specifications: LPDDR4X-4266, 68.25 GB/s"
#define SRC_M1PM "Apple Newsroom, 'Introducing M1 Pro and M1 Max' (2021-10-18): 16-core Neural Engine, 200 / 400 GB/s"
#define SRC_M1U "Apple Newsroom, 'Apple unveils M1 Ultra' (2022-03-08): 32-core Neural Engine, 22 trillion ops/s, 800 GB/s"
#define SRC_M2 "Apple Newsroom, 'Apple unveils M2' (2022-06-06): 16-core Neural Engine, 15.8 trillion ops/s, 100 GB/s"
#define SRC_M2PM "Apple Newsroom, 'Apple unveils M2 Pro and M2 Max' (2023-01-17): 16-core Neural Engine, 200 / 400 GB/s"
#define SRC_M2U "Apple Newsroom, 'Apple introduces M2 Ultra' (2023-06-05): 32-core Neural Engine, 31.6 trillion ops/s, 800 GB/s"
#define SRC_M3 "Apple M3 announcement (2023-10-30): 16-core Neural Engine, 18 TOPS (some sources 15.8), 100 GB/s"
#define SRC_M3PM "Apple M3, M3 Pro and M3 Max announcement (2023-10-30): 16-core Neural Engine, 150 / up to 400 GB/s"
#define SRC_M3U "Apple Newsroom, 'Apple reveals M3 Ultra' (2025-03-05): 32-core Neural Engine, 819 GB/s"
#define SRC_M4 "Apple M4 announcement (2024-05-07): 16-core Neural Engine, 38 trillion ops/s, 120 GB/s"
#define SRC_M4PM "Apple Newsroom, 'M4 Pro and M4 Max' (2024-10-30): 16-core Neural Engine, 273 / 546 GB/s"
#define SRC_M5 "Apple M5 announcement (2025-10-15): 16-core Neural Engine, 153 GB/s (no ops/s quoted)"
#define SRC_M5PM "Apple M5 Pro and M5 Max announcement (2026-03), as reported: 16-core Neural Engine, 307 / 614 GB/s"
#define SRC_AS_BASE(m) "assumed: same 16-core Neural Engine as " m "; Apple quotes no ops/s for this variant"
#define SRC_ULTRA_M3 "assumed: two M3 Max dies; twice M3's 18 (Apple quotes no ops/s for M3 Ultra)"
#define SRC_M5_TOPS "assumed: no public ANE figure for M5; taken equal to M4 (38, fp16 19)"

/* ---- bandwidth of the A-series: Apple publishes none ------------------------------------- */
#define BW_LP4X_A11 "assumed: Apple publishes no bandwidth; 64-bit LPDDR4X at 3733 MT/s (teardown reports)"
#define BW_LP4X "assumed: Apple publishes no bandwidth; 64-bit LPDDR4X-4266 (teardown reports)"
#define BW_LP5 "assumed: Apple publishes no bandwidth; 64-bit LPDDR5-6400 (teardown reports)"
#define BW_LP5X "assumed: Apple publishes no bandwidth; 64-bit LPDDR5X-7500 (teardown reports)"
#define BW_LP5X_A19 "assumed: Apple publishes no bandwidth; 64-bit LPDDR5X-8533 taken"

#define NOTE_ULTRA                                                                              \
    "an Ultra is two dies with one Neural Engine each: Apple's ops/s are their sum, and an "      \
    "estimate assumes one model spreads over both (Core ML's placement across dies is not public)"
#define NOTE_A11 "Core ML does not run models on the A11's Neural Engine (public report, hollance/neural-engine notes): the estimate is hypothetical"

/* name, chip, generation, family, family source, extrapolated, year */
#define ROW(n, c, g, f, fs, x, y) .name = n, .chip = c, .generation = g, .family = f,            \
    .family_source = fs, .extrapolated = x, .year = y

static const af_target_device devices[] = {
    /* ---- A-series ---- */
    {ROW("a11", "A11 Bionic", "H10", "h13", FAM_OLD, 1, 2017), .public_tops = FIG(0.6, SRC_A11),
     .peak_fp16_tops = FIG(0.6, SRC_A11),
     .dram_gbps = ASSUMED(29.9, BW_LP4X_A11), .ane_cores = FIG(2, SRC_A11),
     .aliases = "iphone8,iphone8plus,iphonex", .note = NOTE_A11},
    {ROW("a12", "A12 Bionic", "H11", "h13", FAM_OLD, 1, 2018), .public_tops = FIG(5.0, SRC_A12),
     .peak_fp16_tops = FIG(5.0, SRC_A12),
     .dram_gbps = ASSUMED(34.1, BW_LP4X), .ane_cores = FIG(8, SRC_A12),
     .aliases = "iphonexs,iphonexsmax,iphonexr", .note = ""},
    {ROW("a13", "A13 Bionic", "H12", "h13", FAM_OLD, 1, 2019), .public_tops = ASSUMED(6.0, SRC_A13_TOPS),
     .peak_fp16_tops = ASSUMED(6.0, SRC_A13_TOPS), .dram_gbps = ASSUMED(34.1, BW_LP4X),
     .ane_cores = FIG(8, SRC_A13_CORES),
     .aliases = "iphone11,iphone11pro,iphone11promax,iphonese2", .note = ""},
    {ROW("a14", "A14 Bionic", "H13", "h13", FAM_SAME("M1"), 0, 2020), .public_tops = FIG(11.0, SRC_A14),
     .peak_fp16_tops = FIG(11.0, SRC_A14), .dram_gbps = ASSUMED(34.1, BW_LP4X),
     .ane_cores = FIG(16, SRC_A14),
     .aliases = "iphone12,iphone12mini,iphone12pro,iphone12promax", .note = ""},
    {ROW("a15", "A15 Bionic", "H14", "h14", FAM_SAME("M2"), 0, 2021), .public_tops = FIG(15.8, SRC_A15),
     .peak_fp16_tops = FIG(15.8, SRC_A15), .dram_gbps = ASSUMED(34.1, BW_LP4X),
     .ane_cores = FIG(16, SRC_A15),
     .aliases = "iphone13,iphone13mini,iphone13pro,iphone13promax,iphone14,iphone14plus,iphonese3",
     .note = ""},
    {ROW("a16", "A16 Bionic", "H15", "h15", FAM_A_ASSUMED("M3"), 0, 2022), .public_tops = FIG(17.0, SRC_A16),
     .peak_fp16_tops = FIG(17.0, SRC_A16), .dram_gbps = ASSUMED(51.2, BW_LP5),
     .ane_cores = FIG(16, SRC_A16), .aliases = "iphone14pro,iphone14promax,iphone15,iphone15plus",
     .note = ""},
    {ROW("a17pro", "A17 Pro", "H16", "h16", FAM_A_ASSUMED("M4"), 0, 2023), .public_tops = FIG(35.0, SRC_A17),
     .peak_fp16_tops = ASSUMED(17.5, SRC_INT8_HALF), .dram_gbps = ASSUMED(51.2, BW_LP5),
     .ane_cores = FIG(16, SRC_A17), .aliases = "iphone15pro,iphone15promax", .note = ""},
    {ROW("a18", "A18", "H17", "h17s", FAM_A_ASSUMED("M5"), 0, 2024), .public_tops = ASSUMED(35.0, SRC_A18_TOPS),
     .peak_fp16_tops = ASSUMED(17.5, SRC_INT8_HALF), .dram_gbps = ASSUMED(60.0, BW_LP5X),
     .ane_cores = FIG(16, SRC_A18_CORES), .aliases = "iphone16,iphone16plus,iphone16e", .note = ""},
    {ROW("a18pro", "A18 Pro", "H17", "h17s", FAM_A_ASSUMED("M5"), 0, 2024),
     .public_tops = ASSUMED(35.0, SRC_A18_TOPS), .peak_fp16_tops = ASSUMED(17.5, SRC_INT8_HALF),
     .dram_gbps = ASSUMED(60.0, BW_LP5X), .ane_cores = FIG(16, SRC_A18_CORES),
     .aliases = "iphone16pro,iphone16promax", .note = ""},
    {ROW("a19", "A19", "H18", "h17s", FAM_NEW, 1, 2025), .public_tops = ASSUMED(35.0, SRC_A19_TOPS),
     .peak_fp16_tops = ASSUMED(17.5, SRC_INT8_HALF), .dram_gbps = ASSUMED(68.3, BW_LP5X_A19),
     .ane_cores = FIG(16, SRC_A19_CORES), .aliases = "iphone17", .note = ""},
    {ROW("a19pro", "A19 Pro", "H18", "h17s", FAM_NEW, 1, 2025), .public_tops = ASSUMED(35.0, SRC_A19_TOPS),
     .peak_fp16_tops = ASSUMED(17.5, SRC_INT8_HALF), .dram_gbps = ASSUMED(68.3, BW_LP5X_A19),
     .ane_cores = FIG(16, SRC_A19_CORES), .aliases = "iphone17pro,iphone17promax,iphoneair", .note = ""},
    /* ---- M-series: the base chip of each generation is its family's anchor row ---- */
    {ROW("m1", "M1", "H13", "h13", FAM_LADDER, 0, 2020), .public_tops = FIG(11.0, SRC_M1),
     .peak_fp16_tops = FIG(11.0, SRC_M1), .dram_gbps = FIG(68.25, SRC_M1_BW),
     .ane_cores = FIG(16, SRC_M1), .aliases = "", .note = ""},
    {ROW("m1pro", "M1 Pro", "H13", "h13", FAM_LADDER, 0, 2021), .public_tops = ASSUMED(11.0, SRC_AS_BASE("M1")),
     .peak_fp16_tops = ASSUMED(11.0, SRC_AS_BASE("M1")), .dram_gbps = FIG(200.0, SRC_M1PM),
     .ane_cores = FIG(16, SRC_M1PM), .aliases = "", .note = ""},
    {ROW("m1max", "M1 Max", "H13", "h13", FAM_LADDER, 0, 2021), .public_tops = ASSUMED(11.0, SRC_AS_BASE("M1")),
     .peak_fp16_tops = ASSUMED(11.0, SRC_AS_BASE("M1")), .dram_gbps = FIG(400.0, SRC_M1PM),
     .ane_cores = FIG(16, SRC_M1PM), .aliases = "", .note = ""},
    {ROW("m1ultra", "M1 Ultra", "H13", "h13", FAM_LADDER, 0, 2022), .public_tops = FIG(22.0, SRC_M1U),
     .peak_fp16_tops = FIG(22.0, SRC_M1U), .dram_gbps = FIG(800.0, SRC_M1U),
     .ane_cores = FIG(32, SRC_M1U), .aliases = "", .note = NOTE_ULTRA},
    {ROW("m2", "M2", "H14", "h14", FAM_LADDER, 0, 2022), .public_tops = FIG(15.8, SRC_M2),
     .peak_fp16_tops = FIG(15.8, SRC_M2), .dram_gbps = FIG(100.0, SRC_M2),
     .ane_cores = FIG(16, SRC_M2), .aliases = "", .note = ""},
    {ROW("m2pro", "M2 Pro", "H14", "h14", FAM_LADDER, 0, 2023), .public_tops = ASSUMED(15.8, SRC_AS_BASE("M2")),
     .peak_fp16_tops = ASSUMED(15.8, SRC_AS_BASE("M2")), .dram_gbps = FIG(200.0, SRC_M2PM),
     .ane_cores = FIG(16, SRC_M2PM), .aliases = "", .note = ""},
    {ROW("m2max", "M2 Max", "H14", "h14", FAM_LADDER, 0, 2023), .public_tops = ASSUMED(15.8, SRC_AS_BASE("M2")),
     .peak_fp16_tops = ASSUMED(15.8, SRC_AS_BASE("M2")), .dram_gbps = FIG(400.0, SRC_M2PM),
     .ane_cores = FIG(16, SRC_M2PM), .aliases = "", .note = ""},
    {ROW("m2ultra", "M2 Ultra", "H14", "h14", FAM_LADDER, 0, 2023), .public_tops = FIG(31.6, SRC_M2U),
     .peak_fp16_tops = FIG(31.6, SRC_M2U), .dram_gbps = FIG(800.0, SRC_M2U),
     .ane_cores = FIG(32, SRC_M2U), .aliases = "", .note = NOTE_ULTRA},
    {ROW("m3", "M3", "H15", "h15", FAM_LADDER, 0, 2023), .public_tops = FIG(18.0, SRC_M3),
     .peak_fp16_tops = FIG(18.0, SRC_M3), .dram_gbps = FIG(100.0, SRC_M3),
     .ane_cores = FIG(16, SRC_M3), .aliases = "", .note = ""},
    {ROW("m3pro", "M3 Pro", "H15", "h15", FAM_LADDER, 0, 2023), .public_tops = ASSUMED(18.0, SRC_AS_BASE("M3")),
     .peak_fp16_tops = ASSUMED(18.0, SRC_AS_BASE("M3")), .dram_gbps = FIG(150.0, SRC_M3PM),
     .ane_cores = FIG(16, SRC_M3PM), .aliases = "", .note = ""},
    {ROW("m3max", "M3 Max", "H15", "h15", FAM_LADDER, 0, 2023), .public_tops = ASSUMED(18.0, SRC_AS_BASE("M3")),
     .peak_fp16_tops = ASSUMED(18.0, SRC_AS_BASE("M3")), .dram_gbps = FIG(400.0, SRC_M3PM),
     .ane_cores = FIG(16, SRC_M3PM), .aliases = "", .note = ""},
    {ROW("m3ultra", "M3 Ultra", "H15", "h15", FAM_LADDER, 0, 2025), .public_tops = ASSUMED(36.0, SRC_ULTRA_M3),
     .peak_fp16_tops = ASSUMED(36.0, SRC_ULTRA_M3), .dram_gbps = FIG(819.0, SRC_M3U),
     .ane_cores = FIG(32, SRC_M3U), .aliases = "", .note = NOTE_ULTRA},
    {ROW("m4", "M4", "H16", "h16", FAM_LADDER, 0, 2024), .public_tops = FIG(38.0, SRC_M4),
     .peak_fp16_tops = ASSUMED(19.0, SRC_INT8_HALF), .dram_gbps = FIG(120.0, SRC_M4),
     .ane_cores = FIG(16, SRC_M4), .aliases = "", .note = ""},
    {ROW("m4pro", "M4 Pro", "H16", "h16", FAM_LADDER, 0, 2024), .public_tops = ASSUMED(38.0, SRC_AS_BASE("M4")),
     .peak_fp16_tops = ASSUMED(19.0, SRC_INT8_HALF), .dram_gbps = FIG(273.0, SRC_M4PM),
     .ane_cores = FIG(16, SRC_M4PM), .aliases = "", .note = ""},
    {ROW("m4max", "M4 Max", "H16", "h16", FAM_LADDER, 0, 2024), .public_tops = ASSUMED(38.0, SRC_AS_BASE("M4")),
     .peak_fp16_tops = ASSUMED(19.0, SRC_INT8_HALF), .dram_gbps = FIG(546.0, SRC_M4PM),
     .ane_cores = FIG(16, SRC_M4PM), .aliases = "", .note = ""},
    {ROW("m5", "M5", "H17", "h17s", FAM_LADDER, 0, 2025), .public_tops = ASSUMED(38.0, SRC_M5_TOPS),
     .peak_fp16_tops = ASSUMED(19.0, SRC_M5_TOPS), .dram_gbps = FIG(153.0, SRC_M5),
     .ane_cores = FIG(16, SRC_M5), .aliases = "", .note = ""},
    {ROW("m5pro", "M5 Pro", "H17", "h17s", FAM_LADDER, 0, 2026), .public_tops = ASSUMED(38.0, SRC_M5_TOPS),
     .peak_fp16_tops = ASSUMED(19.0, SRC_M5_TOPS), .dram_gbps = FIG(307.0, SRC_M5PM),
     .ane_cores = FIG(16, SRC_M5PM), .aliases = "", .note = ""},
    {ROW("m5max", "M5 Max", "H17", "h17s", FAM_LADDER, 0, 2026), .public_tops = ASSUMED(38.0, SRC_M5_TOPS),
     .peak_fp16_tops = ASSUMED(19.0, SRC_M5_TOPS), .dram_gbps = FIG(614.0, SRC_M5PM),
     .ane_cores = FIG(16, SRC_M5PM), .aliases = "", .note = ""},
};

int af_target_device_count(void) { return (int)(sizeof devices / sizeof devices[0]); }

const af_target_device *af_target_device_at(int i)
{
    return i >= 0 && i < af_target_device_count() ? &devices[i] : NULL;
}
