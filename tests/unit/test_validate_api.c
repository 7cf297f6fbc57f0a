/* tests/unit/test_validate_api.c — the public validation API (aneforge/validate.h): the JSON
 * document, the PSNR gate, the SVG plot and one-line errors, on the committed small CNN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/validate.h"
#include "check.h"

static const char *const model = "../models/small_cnn/model.onnx";

static int convert_fp16(const char *out)
{
    af_convert_options o = {0};
    o.model_path = model;
    o.out_path = out;
    o.compress = "fp16";
    af_convert_report r;
    char msg[512];
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert: %s", msg);
    return st == AF_OK;
}

static void test_report(const char *bundle)
{
    af_validate_options o = {0};
    o.model_path = model;
    o.bundle_path = bundle;
    o.inputs_dir = "../models/small_cnn/inputs";
    o.per_layer = 1;
    o.min_psnr = 30; /* an fp16 bundle of this CNN measures ~70 dB (docs/validation.md) */
    af_validation *v = NULL;
    char msg[512];
    CHECK(af_validate(&o, &v, msg, sizeof msg) == AF_OK, "validate: %s", msg);
    if (!v) return;
    const char *json = af_validation_json(v);
    CHECK(json && strstr(json, "\"components\"") && strstr(json, "\"layers\""), "json: %.200s",
          json ? json : "(null)");
    CHECK(json && strstr(json, "\"pass\":true"), "pass recorded: %.200s", json ? json : "");
    CHECK(af_validation_passed(v) == 1, "an fp16 bundle passes 30 dB");
    const char *svg = "test_validate_api.svg";
    CHECK(af_validation_write_svg(v, svg, msg, sizeof msg) == AF_OK, "svg: %s", msg);
    FILE *f = fopen(svg, "r");
    char head[64] = {0};
    CHECK(f && fread(head, 1, sizeof head - 1, f) > 0 && strstr(head, "<svg"), "svg text: %s", head);
    if (f) fclose(f);
    unlink(svg);
    af_validation_free(v);

    o.min_psnr = 1000; /* no finite PSNR reaches it: the gate must fail */
    CHECK(af_validate(&o, &v, msg, sizeof msg) == AF_OK, "validate: %s", msg);
    CHECK(v && af_validation_passed(v) == 0, "1000 dB gate fails");
    CHECK(v && strstr(af_validation_json(v), "\"pass\":false"), "fail recorded");
    af_validation_free(v);
}

static void test_errors(const char *bundle)
{
    af_validation *v = (af_validation *)&v; /* must be reset to NULL on failure */
    char msg[512] = "";
    CHECK(af_validate(NULL, &v, msg, sizeof msg) == AF_ERR_USAGE && !v, "NULL options");
    af_validate_options o = {0};
    o.model_path = model;
    o.bundle_path = "no/such/bundle.afb";
    af_status st = af_validate(&o, &v, msg, sizeof msg);
    CHECK(st == AF_ERR_IO && !v && strstr(msg, "no/such/bundle.afb"), "missing bundle: %d %s",
          (int)st, msg);
    o.bundle_path = bundle;
    o.inputs_dir = "no/such/dir";
    st = af_validate(&o, &v, msg, sizeof msg);
    CHECK(st != AF_OK && !v && strstr(msg, "no/such/dir"), "missing inputs: %d %s", (int)st, msg);
    af_validation_free(NULL);
}

int main(void)
{
    const char *bundle = "test_validate_api.afb";
    if (convert_fp16(bundle)) {
        test_report(bundle);
        test_errors(bundle);
    }
    unlink(bundle);
    return check_report("test_validate_api");
}
