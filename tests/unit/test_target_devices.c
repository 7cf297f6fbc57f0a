/* tests/unit/test_target_devices.c — the device rows on top of the family rows: the family
 * mapping of every device (pinned), the two generation ladders, sources on every figure, name
 * resolution (chips, iPhone aliases, nearest spellings, ambiguous product lines), the figures a
 * device puts on its family row, the peak and provenance API, the cost of a device against its
 * family, detection on recorded sysctl strings, and the target a bundle's metadata records read
 * back (as convert writes it now, and as bundles before "target_device" recorded it). */
#include <stdlib.h>
#include <string.h>

#include "../../targets/targets_internal.h"
#include "check.h"

/* The family each device runs on, and its generation (the pinned mapping). */
static const char *const mapping[][3] = {
    {"a11", "h13", "H10"},     {"a12", "h13", "H11"},     {"a13", "h13", "H12"},
    {"a14", "h13", "H13"},     {"a15", "h14", "H14"},     {"a16", "h15", "H15"},
    {"a17pro", "h16", "H16"},  {"a18", "h17s", "H17"},    {"a18pro", "h17s", "H17"},
    {"a19", "h17s", "H18"},    {"a19pro", "h17s", "H18"}, {"m1", "h13", "H13"},
    {"m1pro", "h13", "H13"},   {"m1max", "h13", "H13"},   {"m1ultra", "h13", "H13"},
    {"m2", "h14", "H14"},      {"m2pro", "h14", "H14"},   {"m2max", "h14", "H14"},
    {"m2ultra", "h14", "H14"}, {"m3", "h15", "H15"},      {"m3pro", "h15", "H15"},
    {"m3max", "h15", "H15"},   {"m3ultra", "h15", "H15"}, {"m4", "h16", "H16"},
    {"m4pro", "h16", "H16"},   {"m4max", "h16", "H16"},   {"m5", "h17s", "H17"},
    {"m5pro", "h17s", "H17"},  {"m5max", "h17s", "H17"},
};
#define N_MAPPING (int)(sizeof mapping / sizeof mapping[0])

static int figure_ok(const af_figure *f)
{
    return f->source && f->source[0] && f->assumed == !strncmp(f->source, "assumed:", 8) && f->value > 0;
}

static void test_rows(void)
{
    CHECK(af_target_device_count() == N_MAPPING, "%d devices, %d pinned", af_target_device_count(), N_MAPPING);
    for (int i = 0; i < N_MAPPING; i++) {
        const af_target_device *d = af_target_device_find(mapping[i][0]);
        CHECK(d && !strcmp(d->family, mapping[i][1]) && !strcmp(d->generation, mapping[i][2]),
              "%s: family %s generation %s", mapping[i][0], d ? d->family : "?", d ? d->generation : "?");
        if (!d) continue;
        CHECK(af_target_find(d->name) && !strcmp(af_target_find(d->name)->name, d->family), "%s find", d->name);
        /* the ladders: A(n) = H(n - 1), M(n) = H(n + 12) */
        int n = atoi(d->name + 1), g = atoi(d->generation + 1);
        CHECK(g == (d->name[0] == 'm' ? n + 12 : n - 1), "%s: generation %s off the ladder", d->name, d->generation);
        /* extrapolated exactly when no family row has its generation */
        int has_row = 0;
        for (int k = 0; k < af_target_count(); k++) has_row |= atoi(af_target_at(k)->name + 1) == g;
        CHECK(d->extrapolated == !has_row, "%s extrapolated %d", d->name, d->extrapolated);
        CHECK(figure_ok(&d->public_tops) && figure_ok(&d->peak_fp16_tops) && figure_ok(&d->dram_gbps) &&
                  figure_ok(&d->ane_cores), "%s: a figure without its source", d->name);
        CHECK(d->family_source && d->family_source[0] && d->aliases && d->note, "%s strings", d->name);
        /* fp16 never above the headline; Ultras have two dies */
        CHECK(d->peak_fp16_tops.value <= d->public_tops.value, "%s fp16 above headline", d->name);
        CHECK((strstr(d->name, "ultra") != NULL) == (d->ane_cores.value == 32), "%s cores", d->name);
    }
    /* each family row's figures are its anchor chip's (m1..m5) */
    for (int k = 0; k < af_target_count(); k++) {
        const af_target_family *f = af_target_at(k);
        const af_target_device *d = af_target_device_find(f->alias);
        CHECK(d && !strcmp(d->family, f->name) && d->peak_fp16_tops.value == f->peak_fp16_tops.value &&
                  d->dram_gbps.value == f->dram_gbps.value, "%s anchor %s", f->name, f->alias);
    }
}

static void test_names(void)
{
    const af_target_device *a15 = af_target_device_find("a15");
    CHECK(af_target_device_find("iphone13") == a15 && af_target_device_find("iphonese3") == a15, "iphone13 = a15");
    CHECK(af_target_device_find("iphone16pro") == af_target_device_find("a18pro"), "iphone16pro");
    CHECK(af_target_find("iphone13") == af_target_find("h14") && af_target_find("m2ultra") == af_target_find("h14"),
          "devices resolve to their family rows");
    CHECK(af_target_find("M2") == NULL && af_target_find("") == NULL && af_target_find(NULL) == NULL &&
              af_target_device_find(NULL) == NULL, "case-sensitive, empty, NULL");
    /* every name is unambiguous: no alias twice, none equal to a chip or a family */
    for (int i = 0; i < af_target_device_count(); i++) {
        const char *list = af_target_device_at(i)->aliases;
        while (list && *list) {
            char a[32];
            const char *comma = strchr(list, ',');
            size_t len = comma ? (size_t)(comma - list) : strlen(list);
            CHECK(len < sizeof a, "alias length");
            if (len >= sizeof a) break;
            memcpy(a, list, len);
            a[len] = '\0';
            CHECK(af_target_device_find(a) == af_target_device_at(i), "alias %s is claimed twice", a);
            for (int k = 0; k < af_target_count(); k++) CHECK(strcmp(a, af_target_at(k)->name), "%s", a);
            list = comma ? comma + 1 : NULL;
        }
    }
    char msg[512];
    const af_target_family *f = (const af_target_family *)1;
    CHECK(af_target_lookup("iphone3", &f, msg, sizeof msg) == AF_ERR_USAGE && f == NULL, "iphone3");
    CHECK(strstr(msg, "unknown target 'iphone3'; did you mean") && strstr(msg, "'iphone13'") &&
              strstr(msg, "h13 (m1)"), "%s", msg);
    CHECK(af_target_lookup("m2ultr", &f, msg, sizeof msg) == AF_ERR_USAGE && strstr(msg, "'m2ultra'"), "%s", msg);
    CHECK(af_target_lookup("h12", &f, msg, sizeof msg) == AF_ERR_USAGE && strstr(msg, "'h13'"), "%s", msg);
    CHECK(af_target_lookup("macstudio", &f, msg, sizeof msg) == AF_ERR_USAGE &&
              strstr(msg, "ambiguous target 'macstudio'") && strstr(msg, "m2ultra"), "%s", msg);
    CHECK(af_target_lookup("zzzzzzzz", &f, msg, sizeof msg) == AF_ERR_USAGE && !strstr(msg, "did you mean"),
          "%s", msg);
    /* a message cut short stays a string */
    CHECK(af_target_lookup("iphone3", &f, msg, 16) == AF_ERR_USAGE && strlen(msg) == 15, "%s", msg);
}

static void test_figures(void)
{
    af_target t, m2, h14;
    char msg[512];
    CHECK(af_target_resolve("iphone13", &t, msg, sizeof msg) == AF_OK && !strcmp(t.name, "a15") &&
              t.device == af_target_device_find("a15") && t.family == af_target_find("h14"), "%s", msg);
    CHECK(t.figures.peak_fp16_tops.value == 15.8 && t.figures.dram_gbps.value == 34.1 &&
              t.figures.weight_gbps.value == 34.1 && t.figures.dram_gbps.assumed, "a15 figures");
    CHECK(t.figures.max_dim.value == t.family->max_dim.value && t.figures.native_streams == t.family->native_streams,
          "a device keeps its family's caps");
    CHECK(af_target_resolve("h14", &h14, msg, sizeof msg) == AF_OK && h14.device == NULL && !strcmp(h14.name, "h14"),
          "family");
    CHECK(af_target_resolve("m2", &m2, msg, sizeof msg) == AF_OK && m2.device && m2.family == h14.family, "m2");
    const af_figure *a[] = {&m2.figures.peak_fp16_tops, &m2.figures.vector_tops, &m2.figures.special_gops,
                            &m2.figures.tap_gops, &m2.figures.dram_gbps, &m2.figures.weight_gbps};
    const af_figure *b[] = {&h14.figures.peak_fp16_tops, &h14.figures.vector_tops, &h14.figures.special_gops,
                            &h14.figures.tap_gops, &h14.figures.dram_gbps, &h14.figures.weight_gbps};
    for (int i = 0; i < 6; i++) CHECK(a[i]->value == b[i]->value, "m2 figure %d %g vs %g", i, a[i]->value, b[i]->value);
    af_target u;
    CHECK(af_target_resolve("m2ultra", &u, msg, sizeof msg) == AF_OK, "m2ultra");
    CHECK(u.figures.peak_fp16_tops.value == 31.6 && u.figures.vector_tops.value == 2 * h14.figures.vector_tops.value &&
              u.figures.dram_gbps.value == 800, "ultra: two dies' peak, derived rates scaled, 800 GB/s");
    CHECK(af_target_resolve("nope", &u, msg, sizeof msg) == AF_ERR_USAGE && strstr(msg, "'nope'"), "%s", msg);

    af_figure pub, fp16;
    CHECK(af_target_peak("m4", &pub, &fp16, msg, sizeof msg) == AF_OK && pub.value == 38 && !pub.assumed &&
              fp16.value == 19 && fp16.assumed, "m4 peak");
    CHECK(af_target_peak("h16", &pub, &fp16, msg, sizeof msg) == AF_OK && pub.value == 38 && fp16.value == 19, "h16");
    CHECK(af_target_peak("iphone15pro", &pub, &fp16, msg, sizeof msg) == AF_OK && pub.value == 35 &&
              fp16.value == 17.5, "a17pro");
    CHECK(af_target_peak("h99", &pub, &fp16, msg, sizeof msg) == AF_ERR_USAGE, "h99");

    af_target_provenance_info p;
    CHECK(af_target_provenance("a11", &p, msg, sizeof msg) == AF_OK && p.extrapolated && !strcmp(p.family, "h13") &&
              !strcmp(p.generation, "H10") && p.note[0], "a11 provenance");
    CHECK(p.n == AF_TARGET_N_FIGURES && p.n_sourced + p.n_assumed == p.n, "%d = %d + %d", p.n, p.n_sourced, p.n_assumed);
    int from_dev = 0, from_fam = 0;
    for (int i = 0; i < p.n; i++) {
        CHECK(figure_ok(&p.figures[i].fig) || !strcmp(p.figures[i].key, "gemm_half"), "%s", p.figures[i].key);
        from_dev += !strcmp(p.figures[i].row, "a11");
        from_fam += !strcmp(p.figures[i].row, "h13");
    }
    CHECK(from_dev + from_fam == p.n && from_dev >= 4 && from_fam >= 4, "rows %d + %d", from_dev, from_fam);
    CHECK(af_target_provenance("m2ultra", &p, msg, sizeof msg) == AF_OK && !p.extrapolated && strstr(p.note, "two dies"),
          "ultra note");
    CHECK(af_target_provenance("h15", &p, msg, sizeof msg) == AF_OK && !strcmp(p.name, "h15") &&
              !strcmp(p.generation, "H15"), "family provenance");
}

/* A 3x3 conv (compute-bound) and a 4096x4096 fp16 GEMM (weight-bound): one graph's cost on a
 * target's figures. */
static double estimate(const char *target)
{
    af_graph g;
    af_graph_init(&g);
    int64_t x4[4] = {1, 16, 56, 56}, w4[4] = {64, 16, 3, 3}, o4[4] = {1, 64, 56, 56};
    int64_t a2[2] = {1, 4096}, b2[2] = {4096, 4096};
    int x = af_graph_add_tensor(&g, "x", AF_DTYPE_F32, 4, x4), w = af_graph_add_tensor(&g, "w", AF_DTYPE_F32, 4, w4);
    int y = af_graph_add_tensor(&g, "y", AF_DTYPE_F32, 4, o4);
    int a = af_graph_add_tensor(&g, "a", AF_DTYPE_F32, 2, a2), b = af_graph_add_tensor(&g, "b", AF_DTYPE_F32, 2, b2);
    int c = af_graph_add_tensor(&g, "c", AF_DTYPE_F32, 2, a2);
    af_tensor_set_data(&g.tensors[w], calloc(64 * 16 * 9, sizeof(float)));
    af_tensor_set_data(&g.tensors[b], calloc(4096 * 4096, sizeof(float)));
    g.tensors[w].encoding = g.tensors[b].encoding = AF_ENC_FP16;
    int in[2] = {x, w}, in2[2] = {a, b};
    int n = af_graph_add_node(&g, AF_OP_CONV, "conv", in, 2, &y, 1);
    af_conv_params *p = &g.nodes[n].p.conv;
    p->nsp = 2, p->group = 1, p->kernel[0] = p->kernel[1] = 3;
    af_graph_add_node(&g, AF_OP_GEMM, "fc", in2, 2, &c, 1);
    af_target t;
    af_cost_report r;
    af_err err = {0};
    char msg[512];
    double time = -1;
    if (af_target_resolve(target, &t, msg, sizeof msg) == AF_OK &&
        af_cost_graph(&g, &t.figures, -1, &r, &err) == AF_OK) {
        time = r.time_us;
        af_cost_report_free(&r);
    }
    af_graph_free(&g);
    return time;
}

static void test_cost(void)
{
    double h14 = estimate("h14"), m2 = estimate("m2"), a15 = estimate("iphone13"), max = estimate("m2max"),
           ultra = estimate("m2ultra"), a18 = estimate("a18"), a18pro = estimate("a18pro");
    CHECK(h14 > 0 && m2 == h14, "same family, same figures: m2 %g = h14 %g", m2, h14);
    CHECK(a18 > 0 && a18 == a18pro, "a18 %g = a18pro %g", a18, a18pro);
    CHECK(a15 > m2, "A15's lower (assumed) bandwidth: %g > %g", a15, m2);
    CHECK(ultra < max && max < m2, "ultra %g < max %g < m2 %g", ultra, max, m2);
}

static void test_detect(void)
{
    /* hw.model / hw.machine and machdep.cpu.brand_string as Apple machines report them (model
     * identifiers from Apple's "Identify your Mac model" and iPhone lists) */
    static const char *const rec[][5] = {/* model, brand, has_ane, device, family */
        {"MacBookAir10,1", "Apple M1", "1", "m1", "h13"},
        {"MacBookPro18,2", "Apple M1 Max", "1", "m1max", "h13"},
        {"Mac13,2", "Apple M1 Ultra", "1", "m1ultra", "h13"},
        {"Mac14,2", "Apple M2", "1", "m2", "h14"},
        {"Mac14,14", "Apple M2 Ultra", "1", "m2ultra", "h14"},
        {"Mac15,3", "Apple M3", "1", "m3", "h15"},
        {"Mac15,9", "Apple M3 Max", "1", "m3max", "h15"},
        {"Mac16,1", "Apple M4", "1", "m4", "h16"},
        {"Mac16,7", "Apple M4 Pro", "1", "m4pro", "h16"},
        {"Mac17,2", "Apple M5", "1", "m5", "h17s"},
        {"Mac16,1", "", "1", "", "h16"},         /* no brand: the Mac ladder, variant unknown */
        {"MacBookPro18,3", "", "1", "", "h13"},  /* M1 Pro or Max */
        {"Mac18,1", "Apple M6", "1", "", "h17s"}, /* newer than the table: extrapolated */
        {"iPhone14,2", "", "1", "a15", "h14"},   /* iPhone 13 Pro */
        {"iPhone14,7", "", "1", "a15", "h14"},   /* iPhone 14 */
        {"iPhone16,1", "", "1", "a17pro", "h16"}, /* iPhone 15 Pro */
        {"iPhone17,3", "", "1", "a18", "h17s"},  /* iPhone 16 */
        {"iPhone10,3", "", "1", "a11", "h13"},   /* iPhone X: extrapolated */
        {"iPhone9,1", "", "0", "", ""},          /* iPhone 7: A10, no ANE */
        {"MacBookPro16,1", "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz", "0", "", ""},
        {"MacBookPro15,2", "", "0", "", ""},     /* an Intel Mac by its model alone */
        {"VirtualMac2,1", "Apple M2 (Virtual)", "0", "", ""},
        {"", "", "0", "", ""},
        {NULL, NULL, "0", "", ""},
        {"Mac14,", "Apple ", "0", "", ""},       /* malformed */
    };
    for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++) {
        af_detect_result r;
        memset(&r, 0x5a, sizeof r);
        CHECK(af_detect_family(rec[i][0], rec[i][1], &r) == AF_OK, "detect");
        CHECK(r.has_ane == atoi(rec[i][2]) && !strcmp(r.device, rec[i][3]) && !strcmp(r.family, rec[i][4]) &&
                  r.why[0] && memchr(r.why, 0, sizeof r.why),
              "'%s' / '%s': ane %d device '%s' family '%s' (%s)", rec[i][0] ? rec[i][0] : "(null)",
              rec[i][1] ? rec[i][1] : "(null)", r.has_ane, r.device, r.family, r.why);
    }
    af_detect_result r;
    CHECK(af_detect_family("Mac18,1", "Apple M6", &r) == AF_OK && r.extrapolated && !strcmp(r.generation, "H18") &&
              strstr(r.why, "M6 = H18"), "%s", r.why);
    CHECK(af_detect_family("iPhone10,3", "", &r) == AF_OK && r.extrapolated && !strcmp(r.generation, "H10"), "a11");
    CHECK(af_detect_family("Mac15,3", NULL, &r) == AF_OK && strstr(r.why, "M3 = H15") && strstr(r.chip, "M3"), "%s",
          r.why);
    char msg[128];
#if !defined(__APPLE__)
    CHECK(af_detect_host(&r, msg, sizeof msg) == AF_OK && r.has_ane == 0 && strstr(r.why, "no Neural Engine"), "%s",
          r.why);
#else
    CHECK(af_detect_host(&r, msg, sizeof msg) == AF_OK, "host");
#endif
}

/* af_target_meta_read over META objects: {json, recorded, result, family, device or NULL}. */
static void test_meta_read(void)
{
    static const char *const cases[][5] = {
        {"{\"target\":\"h14\",\"target_device\":\"a15\"}", "a15", "1", "h14", "a15"}, /* now */
        {"{\"target\":\"h14\"}", "h14", "1", "h14", NULL},          /* a family named */
        {"{\"target\":\"iphone13\",\"compress\":\"fp16\"}", "iphone13", "1", "h14", "a15"}, /* old */
        {"{\"target\":\"m2\"}", "m2", "1", "h14", "m2"},            /* old: an alias as typed */
        {"{\"target\":null,\"compress\":\"fp16\"}", "", "0", NULL, NULL},
        {"{}", "", "0", NULL, NULL},
        {"{\"target\":\"h99\"}", "h99", "-1", NULL, NULL},          /* a newer build's name */
        {"{\"target\":\"h1", "", "0", NULL, NULL},                    /* truncated: no string */
        {"{\"target\":\"a1\\u", "", "0", NULL, NULL},               /* an escape cut short */
        {"{\"source_model\":\"a\\\"target\\\":\\\"m4.onnx\",\"target\":null}", "", "0", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *c = cases[i];
        af_target t;
        char rec[64];
        int got = af_target_meta_read(c[0], strlen(c[0]), &t, rec, sizeof rec);
        CHECK(got == atoi(c[2]) && !strcmp(rec, c[1]), "%s: %d '%s'", c[0], got, rec);
        if (got != 1) continue;
        CHECK(!strcmp(t.family->name, c[3]), "%s: family %s", c[0], t.family->name);
        CHECK(c[4] ? t.device && !strcmp(t.device->name, c[4]) : !t.device, "%s: device %s", c[0],
              t.device ? t.device->name : "none");
    }
    af_target t;
    char rec[8];
    CHECK(af_target_meta_read(NULL, 0, &t, rec, sizeof rec) == 0 && !rec[0], "no META");
}

int main(void)
{
    test_rows();
    test_names();
    test_figures();
    test_cost();
    test_detect();
    test_meta_read();
    return check_report("target_devices");
}
