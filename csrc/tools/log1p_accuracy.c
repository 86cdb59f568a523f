/* Accuracy of the kernels' branch-free log1p (log1p_nonneg_inv, fastlogreg_kernels.c)
 * against long double log1pl, on 20 million points over [0, 1), [0, 100), 2^[-50, 10)
 * and 2^[-1000, 0), with glibc's log1p measured the same way for comparison:
 *
 *     gcc -O2 -march=native -ffp-contract=fast -fno-trapping-math -fno-math-errno \
 *         -Icsrc -o /tmp/log1p_accuracy csrc/tools/log1p_accuracy.c -lm && /tmp/log1p_accuracy
 */
#include "../fastlogreg_kernels.c"
#include <stdio.h>
static double ulps(double a, long double ref) {
    long double diff = fabsl((long double)a - ref);
    double r = (double)ref;
    double u = nextafter(fabs(r), INFINITY) - fabs(r);
    return (double)(diff / u);
}
int main(void) {
    double worst = 0, wx = 0, worst_libm = 0; long n = 0; double sum = 0;
    uint64_t st = 88172645463325252ull;
    for (long i = 0; i < 20000000; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        double t = (double)(st >> 11) / 9007199254740992.0;   /* [0,1) */
        double x;
        switch (i % 4) { case 0: x = t; break; case 1: x = t * 100.0; break;
                         case 2: x = exp2(t * 60.0 - 50.0); break; default: x = exp2(t * 1000.0 - 1000.0); }
        double got = log1p_nonneg_inv(x, 1.0 / (1.0 + x));
        long double ref = log1pl((long double)x);
        double e = ulps(got, ref), el = ulps(log1p(x), ref);
        if (e > worst) { worst = e; wx = x; }
        if (el > worst_libm) worst_libm = el;
        sum += e; n++;
    }
    printf("log1p_nonneg_inv: max %.3f ulp at x=%.17g, mean %.4f; libm log1p max %.3f ulp (vs log1pl, %ld points)\n", worst, wx, sum / n, worst_libm, n);
    double sp[] = {0.0, 1e-300, 5e-324, 1.0, 2.0, 9.0, 99.0, 1e15, 9007199254740992.0, 1e300, NAN};
    for (int i = 0; i < 11; i++) printf("x=%g: %.17g vs libm %.17g\n", sp[i], log1p_nonneg_inv(sp[i], 1.0 / (1.0 + sp[i])), log1p(sp[i]));
    return 0;
}
