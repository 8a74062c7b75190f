/* A negative result, kept so that it can be re-measured: float32 division made free of
 * subnormal operands, bit-identical to IEEE division, inside Adam's pass.
 *
 * W1's Adam first moments of rarely active pixels decay into the subnormal range, and on this
 * CPU (AMD EPYC, family 26) a vector division or square root with a subnormal lane costs
 * microcode (docs/performance.md, "Third round"). div_exact() keeps subnormals out of the
 * division: a subnormal numerator is rescaled by 2^24 through integer operations (a float
 * multiply of the subnormal would itself stall), the quotient is scaled back, and the one case
 * where that second rounding can differ from IEEE's single rounding (the quotient exactly on a
 * midpoint of the subnormal grid) is fixed with the exact remainder from a fused multiply-add.
 * It is bit-identical to x / a (checked below on 20 million random cases, most of them tiny),
 * but its extra instructions cost more than the microcode they avoid.
 *
 *   gcc -O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -std=c11 \
 *       -o /tmp/exact_division benchmarks/experiments/exact_division.c -lm
 *   python benchmarks/experiments/dump_adam_state.py /tmp/w1state
 *   /tmp/exact_division /tmp/w1state
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 101770 /* W1's parameters */
#define AVX512 __attribute__((noinline, target("avx512f")))

static inline uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* x / a, rounded as IEEE float32 division rounds it, with no subnormal operand in the division */
static inline float div_exact(float x, float a)
{
    uint32_t u = bits(x);
    int sub = (u & 0x7f800000u) == 0; /* subnormal or zero */
    /* x * 2^24 for a subnormal x, from its integer significand (exact) */
    float scaled = from_bits(bits((float)(int32_t)(u & 0x7fffffu) * 0x1p-125f) | (u & 0x80000000u));
    float xs = sub ? scaled : x;
    float up = sub ? 0x1p24f : 1.0f, down = sub ? 0x1p-24f : 1.0f;
    float q = xs / a;
    float r = q * down;               /* a second rounding iff the result is subnormal */
    float d = q - r * up;             /* +-2^-126 iff q lay on a midpoint of r's grid */
    float rem = fmaf(-q, a, xs);      /* xs - q a, exactly */
    float sr = rem > 0 ? 1.0f : (rem < 0 ? -1.0f : 0.0f);
    float beyond = a > 0 ? sr : -sr;  /* 1: the exact quotient lies beyond q */
    float side = fabsf(d) == 0x1p-126f ? beyond * d : 0.0f;
    return side > 0 ? (q + d) * 0x1p-24f : r;
}

static float w, b2, omb2, k2, k3; /* Adam's float32 constants, as descend's kernel has them */

/* descend's float32 Adam pass (PyTorch form, lerp with weight < 0.5, no weight decay) */
#define MOMENTS                                                                            \
    float d = g[i], si = s[i], diff = d - si; diff = diff * w; si = si + diff; s[i] = si;   \
    float a = d * omb2; a = a * d; float ri = r[i] * b2; ri = ri + a; r[i] = ri;            \
    a = sqrtf(ri); a = a + k2;

AVX512 void adam_plain(float *restrict p, const float *restrict g, float *restrict s, float *restrict r, long n)
{
    for (long i = 0; i < n; i++) { MOMENTS a = si / a; a = a * k3; p[i] = p[i] + a; }
}

AVX512 void adam_exact(float *restrict p, const float *restrict g, float *restrict s, float *restrict r, long n)
{
    for (long i = 0; i < n; i++) { MOMENTS a = div_exact(si, a); a = a * k3; p[i] = p[i] + a; }
}

static uint64_t state = 88172645463325252ull;
static uint32_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (uint32_t)state; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static float P0[N], G[N], S0[N], R0[N], P[N], S[N], R[N], PA[N];

static void load(const char *dir, const char *name, float *x)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f || fread(x, 4, N, f) != N) { fprintf(stderr, "cannot read %s (see dump_adam_state.py)\n", path); exit(2); }
    fclose(f);
}

static double median_us(void (*kernel)(float *, const float *, float *, float *, long))
{
    double t[41];
    for (int k = 0; k < 41; k++) {
        memcpy(P, P0, sizeof P); memcpy(S, S0, sizeof S); memcpy(R, R0, sizeof R);
        double t0 = now();
        kernel(P, G, S, R, N);
        t[k] = now() - t0;
    }
    for (int i = 0; i < 41; i++)
        for (int j = i + 1; j < 41; j++)
            if (t[j] < t[i]) { double x = t[i]; t[i] = t[j]; t[j] = x; }
    return t[20] * 1e6;
}

int main(int argc, char **argv)
{
    long bad = 0, cases = 20000000;
    for (long i = 0; i < cases; i++) {
        uint32_t ux = next(), ua = next();
        if (i % 4 == 0) ux &= 0x807fffffu;                                        /* subnormal */
        else if (i % 4 == 1) ux = (ux & 0x80ffffffu) | ((next() % 30) << 23);      /* tiny */
        if (i % 3 == 0) ua = (ua & 0x007fffffu) | ((100 + next() % 60) << 23);     /* a > 0 */
        float x = from_bits(ux), a = from_bits(ua);
        volatile float ieee = x / a;
        float got = div_exact(x, a);
        if (bits(ieee) != bits(got) && !(isnan(ieee) && isnan(got))) bad++;
    }
    printf("div_exact against IEEE division: %ld random cases, %ld differ\n", cases, bad);
    if (argc < 2) return bad != 0;

    load(argv[1], "p", P0); load(argv[1], "g", G); load(argv[1], "m", S0); load(argv[1], "v", R0);
    int t = 2201; /* the update after two epochs of 1,100 */
    double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t), c = sqrt(bc2);
    w = (float)(1 - 0.9); b2 = 0.999f; omb2 = (float)(1 - 0.999); k2 = (float)(1e-8 * c); k3 = (float)(-1e-3 * c / bc1);
    for (int flushed = 0; flushed < 2; flushed++) {
        if (flushed) /* the same state with its subnormal moments set to 0 */
            for (long i = 0; i < N; i++) if (fabsf(S0[i]) < 0x1p-126f) S0[i] = 0.0f;
        double plain = median_us(adam_plain);
        memcpy(PA, P, sizeof P);
        double exact = median_us(adam_exact);
        printf("%s: Adam pass, plain division %.1f us, div_exact %.1f us, %s\n",
               flushed ? "no subnormal moments" : "W1's moments after two epochs", plain, exact,
               memcmp(PA, P, sizeof P) ? "DIFFERENT parameters" : "identical parameters");
    }
    return bad != 0;
}
