/* targets/detect.c — which Neural Engine the running machine has. The parsing of the sysctl
 * strings is plain C compiled everywhere (and unit-tested on recorded strings); only reading
 * them needs an Apple platform.
 *
 *   machdep.cpu.brand_string "Apple M2 Max"  -> m2max: M(n) = H(n + 12) -> H14 -> family h14
 *   hw.model "Mac15,3"                       -> the Mac ladder: MacN,m is an M(N - 12) machine
 *   hw.machine "iPhone14,2" (iOS)            -> iPhoneN,m carries an A(N + 1): A15 -> H14
 *   "Intel(R) Core(TM) ...", "MacBookPro16,1", other platforms -> no ANE */
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE 1
#include <sys/sysctl.h>
#include <sys/types.h>
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aneforge/targets.h"

/* The family row of generation g (13 -> h13, 17 -> h17s); NULL when there is none. */
static const af_target_family *family_of_generation(int g)
{
    for (int i = 0; i < af_target_count(); i++)
        if (atoi(af_target_at(i)->name + 1) == g) return af_target_at(i);
    return NULL;
}

static void no_ane(af_detect_result *r, const char *fmt, const char *what)
{
    memset(r, 0, sizeof *r);
    snprintf(r->why, sizeof r->why, fmt, what ? what : "");
}

/* Fills r for chip letter ('A' or 'M') number n, variant ("", "pro", "max", "ultra"). */
static void from_chip(af_detect_result *r, char letter, int n, const char *variant, const char *how)
{
    int g = letter == 'M' ? n + 12 : n - 1;
    if (letter == 'A' && n <= 10) {
        char chip[16];
        snprintf(chip, sizeof chip, "A%d", n);
        no_ane(r, "%s: A10 and older chips have no Neural Engine", chip);
        return;
    }
    memset(r, 0, sizeof *r);
    r->has_ane = 1;
    char name[32];
    snprintf(name, sizeof name, "%c%d%s", tolower((unsigned char)letter), n, variant);
    const af_target_device *d = af_target_device_find(name);
    snprintf(r->generation, sizeof r->generation, "H%d", g);
    if (d) {
        snprintf(r->device, sizeof r->device, "%s", d->name);
        snprintf(r->chip, sizeof r->chip, "%s", d->chip);
        snprintf(r->family, sizeof r->family, "%s", d->family);
        r->extrapolated = d->extrapolated;
    } else {
        const af_target_family *f = family_of_generation(g);
        int newest = atoi(af_target_at(af_target_count() - 1)->name + 1);
        if (!f) f = g < 13 ? af_target_at(0) : af_target_at(af_target_count() - 1);
        snprintf(r->chip, sizeof r->chip, "%c%d%s%s", letter, n, variant[0] ? " " : "", variant);
        snprintf(r->family, sizeof r->family, "%s", f->name);
        r->extrapolated = g < 13 || g > newest;
    }
    snprintf(r->why, sizeof r->why, "%s; %c(n) = H(n %s %d) ladder: %c%d = H%d%s%s", how, letter,
             letter == 'M' ? "+" : "-", letter == 'M' ? 12 : 1, letter, n, g,
             r->extrapolated ? ", extrapolated from family " : "", r->extrapolated ? r->family : "");
}

/* "Apple M2 Max", "Apple M1", "Apple A15 Bionic"; returns 1 when it decided the result. */
static int parse_brand(const char *brand, af_detect_result *r)
{
    char how[192];
    if (strstr(brand, "Intel") || strstr(brand, "AMD")) {
        no_ane(r, "an x86 processor ('%s'): no Neural Engine", brand);
        return 1;
    }
    if (strncmp(brand, "Apple ", 6) || (brand[6] != 'M' && brand[6] != 'A') || !isdigit((unsigned char)brand[7]))
        return 0;
    char *end;
    long n = strtol(brand + 7, &end, 10);
    if (n < 1 || n > 99) return 0;
    const char *variant = !strncmp(end, " Pro", 4) ? "pro" : !strncmp(end, " Max", 4) ? "max"
                          : !strncmp(end, " Ultra", 6) ? "ultra" : "";
    snprintf(how, sizeof how, "machdep.cpu.brand_string '%.64s'", brand);
    from_chip(r, brand[6], (int)n, variant, how);
    return 1;
}

/* "Prefix<N>,<m>": N and m, or 0 when s does not have that form. */
static int model_numbers(const char *s, const char *prefix, int *major, int *minor)
{
    size_t k = strlen(prefix);
    if (strncmp(s, prefix, k) || !isdigit((unsigned char)s[k])) return 0;
    char *end;
    *major = (int)strtol(s + k, &end, 10);
    if (*end != ',' || !isdigit((unsigned char)end[1])) return 0;
    *minor = (int)strtol(end + 1, &end, 10);
    return *end == '\0';
}

/* The Apple-silicon Macs named before the MacN,m scheme: all M1 generation. */
static const struct {
    const char *model, *variant;
} m1_macs[] = {
    {"MacBookAir10,1", ""}, {"MacBookPro17,1", ""}, {"Macmini9,1", ""}, {"iMac21,1", ""},
    {"iMac21,2", ""}, {"MacBookPro18,1", "?"}, {"MacBookPro18,2", "?"}, {"MacBookPro18,3", "?"},
    {"MacBookPro18,4", "?"},
};

static int parse_model(const char *model, af_detect_result *r)
{
    char how[192];
    int major, minor;
    snprintf(how, sizeof how, "hw.model '%.64s'", model);
    if (!strncmp(model, "VirtualMac", 10)) {
        no_ane(r, "'%s': a virtual machine (the Neural Engine is not passed through)", model);
        return 1;
    }
    if (model_numbers(model, "iPhone", &major, &minor)) {
        int a = major + 1; /* iPhone10,x = A11 ... iPhone17,x = A18 */
        const char *variant = a == 17 || (a == 18 && minor <= 2) ? "pro" : "";
        from_chip(r, 'A', a, variant, how);
        return 1;
    }
    for (size_t i = 0; i < sizeof m1_macs / sizeof m1_macs[0]; i++)
        if (!strcmp(model, m1_macs[i].model)) {
            from_chip(r, 'M', 1, "", how);
            if (m1_macs[i].variant[0] == '?') { /* M1 Pro or M1 Max: the base chip's figures */
                r->device[0] = '\0';
                snprintf(r->chip, sizeof r->chip, "M1 Pro or M1 Max");
            }
            return 1;
        }
    if (model_numbers(model, "Mac", &major, &minor) && major >= 13) {
        from_chip(r, 'M', major - 12, "", how);
        r->device[0] = '\0'; /* the variant (Pro, Max, Ultra) is not in hw.model */
        snprintf(r->chip, sizeof r->chip, "M%d (variant unknown without the brand string)", major - 12);
        return 1;
    }
    if (!strncmp(model, "MacBook", 7) || !strncmp(model, "Macmini", 7) || !strncmp(model, "iMac", 4) ||
        !strncmp(model, "MacPro", 6)) {
        no_ane(r, "'%s': an Intel Mac (no Neural Engine)", model);
        return 1;
    }
    return 0;
}

af_status af_detect_family(const char *hw_model, const char *brand, af_detect_result *out)
{
    if (hw_model && !strncmp(hw_model, "VirtualMac", 10)) { /* its brand names the host's chip */
        parse_model(hw_model, out);
        return AF_OK;
    }
    if (brand && brand[0] && parse_brand(brand, out)) return AF_OK;
    if (hw_model && hw_model[0] && parse_model(hw_model, out)) return AF_OK;
    char what[160];
    snprintf(what, sizeof what, "hw.model '%.60s', brand '%.60s'", hw_model ? hw_model : "",
             brand ? brand : "");
    no_ane(out, "no Apple chip recognised (%s): pass the chip with --target", what);
    return AF_OK;
}

#if defined(__APPLE__)
static void read_sysctl(const char *key, char *buf, size_t size)
{
    size_t n = size - 1;
    if (sysctlbyname(key, buf, &n, NULL, 0) != 0) n = 0;
    buf[n < size ? n : size - 1] = '\0';
}

af_status af_detect_host(af_detect_result *out, char *msg, size_t msg_size)
{
    char model[128], machine[128], brand[160];
    (void)msg;
    (void)msg_size;
    read_sysctl("hw.model", model, sizeof model);
    read_sysctl("hw.machine", machine, sizeof machine); /* iOS: "iPhone14,2"; macOS: "arm64" */
    read_sysctl("machdep.cpu.brand_string", brand, sizeof brand);
    const char *id = !strncmp(machine, "iPhone", 6) || !strncmp(machine, "iPad", 4) ? machine : model;
    return af_detect_family(id, brand, out);
}
#else
af_status af_detect_host(af_detect_result *out, char *msg, size_t msg_size)
{
    (void)msg;
    (void)msg_size;
    no_ane(out, "not an Apple platform (%s): no Neural Engine",
#if defined(__linux__)
           "Linux"
#else
           "this build"
#endif
    );
    return AF_OK;
}
#endif
