/* convert/cfg_pairs.c — the cond/uncond input-set pairs of `convert --cfg-calib DIR` (see
 * validate_cfg.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "validate_cfg.h"

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void af_cfg_calib_pairs_free(char **paths, int n_pairs)
{
    for (int k = 0; paths && k < 2 * n_pairs; k++) free(paths[k]);
    free(paths);
}

/* paths[2k] = base/cond, paths[2k + 1] = base/uncond. */
static af_status add_pair(char **paths, int k, const char *base, af_err *err)
{
    size_t n = strlen(base) + 8;
    paths[2 * k] = malloc(n + 1);
    paths[2 * k + 1] = malloc(n + 1);
    if (!paths[2 * k] || !paths[2 * k + 1]) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    snprintf(paths[2 * k], n + 1, "%s/cond", base);
    snprintf(paths[2 * k + 1], n + 1, "%s/uncond", base);
    return AF_OK;
}

/* Sorted subfolders of dir (at most max), malloc'd paths; -1 when dir cannot be read. */
static int list_subfolders(const char *dir, char **names, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *de; (de = readdir(d)) && n < max;) {
        char p[4096];
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (!is_dir(p)) continue;
        if (!(names[n] = strdup(p))) break;
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

af_status af_cfg_calib_pairs(const char *dir, char ***paths, int *n_pairs, af_err *err)
{
    *paths = calloc(2 * AF_CFG_MAX_PAIRS, sizeof **paths);
    *n_pairs = 0;
    if (!*paths) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    char cond[4096];
    snprintf(cond, sizeof cond, "%s/cond", dir);
    if (is_dir(cond)) {
        *n_pairs = 1;
        return add_pair(*paths, 0, dir, err);
    }
    char *names[AF_CFG_MAX_PAIRS];
    int n = list_subfolders(dir, names, AF_CFG_MAX_PAIRS);
    if (n < 0) return af_err_set(err, AF_ERR_IO, "--cfg-calib %s: cannot open the folder", dir);
    if (n == 0)
        af_err_set(err, AF_ERR_IO, "--cfg-calib %s: no cond/ and uncond/ folders and no "
                   "subfolders holding them", dir);
    for (int k = 0; k < n && err->code == AF_OK; k++)
        if (add_pair(*paths, k, names[k], err) == AF_OK) *n_pairs = k + 1;
    for (int k = 0; k < n; k++) free(names[k]);
    return err->code;
}
