/* tests/unit/test_sd_trajectory.c — the DDIM schedule of convert/sd_trajectory.h: SD-1.5's
 * scaled-linear ᾱ_t equal, bit for bit, to numpy's (1.24: linspace(√0.00085, √0.012, 1000) ** 2,
 * cumprod(1 − β); the values below are numpy's repr, which round-trips a double exactly), and the
 * "leading" timesteps with offset 1. bench/sd_trajectory.py computes them with numpy, and the
 * e2e test compares whole trajectories; this pins the schedule alone. */
#include <stdio.h>

#include "../../convert/sd_trajectory.h"
#include "check.h"

static void test_abar(void)
{
    double abar[1000];
    int ts[1];
    af_ddim_schedule(1, abar, ts);
    static const struct { int t; double v; } want[] = {
        {0, 0.99915}, {1, 0.9982960278384514}, {500, 0.2763326838229746},
        {951, 0.0081550045674304}, {999, 0.004660098513077238}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        CHECK(abar[want[k].t] == want[k].v, "abar[%d] = %.17g, numpy %.17g", want[k].t,
              abar[want[k].t], want[k].v);
    for (int t = 1; t < 1000; t++)
        CHECK(abar[t] < abar[t - 1] && abar[t] > 0, "abar decreasing at %d", t);
}

static void test_timesteps(void)
{
    double abar[1000];
    int ts[AF_TRAJ_MAX_STEPS];
    af_ddim_schedule(20, abar, ts); /* ⌊1000/20⌋ = 50: 951, 901, ..., 1 */
    for (int k = 0; k < 20; k++) CHECK(ts[k] == 951 - 50 * k, "20 steps: ts[%d] = %d", k, ts[k]);
    af_ddim_schedule(1, abar, ts);
    CHECK(ts[0] == 1, "1 step: t = %d", ts[0]);
    af_ddim_schedule(3, abar, ts); /* ⌊1000/3⌋ = 333 */
    CHECK(ts[0] == 667 && ts[1] == 334 && ts[2] == 1, "3 steps: %d %d %d", ts[0], ts[1], ts[2]);
    af_ddim_schedule(AF_TRAJ_MAX_STEPS, abar, ts); /* step 1: t = k + 1, the last 999 */
    CHECK(ts[0] == 999 && ts[AF_TRAJ_MAX_STEPS - 1] == 1, "999 steps: %d .. %d", ts[0],
          ts[AF_TRAJ_MAX_STEPS - 1]);
}

int main(void)
{
    test_abar();
    test_timesteps();
    return check_report("sd_trajectory");
}
