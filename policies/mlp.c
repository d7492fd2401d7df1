/* mlp.c - the native forward pass (mlp.h).
 *
 * Layout: layer l's weights [out, in] (torch) are repacked into panels of 32
 * outputs, [n_panels][in][32] (zero-padded), 64-byte aligned, so one panel
 * row is two 16-float vectors. A tile of 4 rows x 32 outputs keeps 8 vector
 * accumulators in registers over the whole input dimension: per input i it
 * loads 2 weight vectors and broadcasts 4 activations for 8 multiply-adds; the
 * panel (in x 128 bytes, 32 KiB for in = 256) stays in L1 while the tiles of
 * rows walk over it. A single row (batch 1) uses 4 panels at once instead, so
 * 8 independent accumulator chains hide the FMA latency. Rows go through in
 * blocks of S_CHUNK so activations stay in L2. The same kernel source is
 * compiled for AVX-512, AVX2+FMA and the baseline ISA (GCC vector
 * extensions), picked once with __builtin_cpu_supports; RLS_MLP_KERNEL=
 * generic|avx2|avx512 in the environment forces one (tests compare them).
 */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_P 32          /* outputs per panel */
#define S_CHUNK 64      /* rows per block */

typedef float s_vf __attribute__((vector_size(64)));
typedef int32_t s_vi __attribute__((vector_size(64)));
typedef float s_vf8 __attribute__((vector_size(32)));
typedef int32_t s_vi8 __attribute__((vector_size(32)));

typedef void (*s_layer_fn)(const float *in, int64_t ld_in, int32_t n_in, int32_t rows,
                           const float *wp, const float *bp, int32_t n_panels, float *out,
                           int64_t ld_out, int relu);

struct rls_mlp {
    int32_t n_layers;
    int32_t sizes[RLS_MLP_MAX_LAYERS + 1];
    int32_t panels[RLS_MLP_MAX_LAYERS];   /* ceil(sizes[l+1] / S_P) */
    float *wp[RLS_MLP_MAX_LAYERS];        /* [panels][sizes[l]][S_P] */
    float *bp[RLS_MLP_MAX_LAYERS];        /* [panels * S_P] */
    float *mean, *std;                    /* [sizes[0]] */
    int64_t ld;                           /* activation row stride (max padded width) */
    float *xin;                           /* [S_CHUNK, sizes[0]] normalized inputs */
    float *act[2];                        /* [S_CHUNK, ld] ping-pong activations */
    s_layer_fn layer;
    const char *kernel;
    int64_t flops;
};

/* ---------------------------------------------------------------------------
 * The kernel (one source, compiled per ISA below). */

#define S_LD(p) (*(const s_vf *)(p))

/* Stores vector a at p, through ReLU when relu (a statement macro: vectors
 * are not passed by value, whose ABI differs between the ISAs). */
#define S_STORE(p, a, relu)                                 \
    do {                                                    \
        s_vf v_ = (a);                                      \
        if (relu) {                                         \
            s_vf z_ = {0};                                  \
            v_ = (s_vf)((s_vi)v_ & (s_vi)(v_ > z_));        \
        }                                                   \
        *(s_vf *)(p) = v_;                                  \
    } while (0)

static inline __attribute__((always_inline)) void
s_layer_body(const float *restrict in, int64_t ld_in, int32_t n_in, int32_t rows,
             const float *restrict wp, const float *restrict bp, int32_t n_panels,
             float *restrict out, int64_t ld_out, int relu)
{
    int32_t p = 0;
    if (rows == 1) {
        /* one row: 4 panels at a time, 8 independent chains */
        for (; p + 4 <= n_panels; p += 4) {
            const float *w0 = wp + (int64_t)p * n_in * S_P;
            const float *w1 = w0 + (int64_t)n_in * S_P;
            const float *w2 = w1 + (int64_t)n_in * S_P;
            const float *w3 = w2 + (int64_t)n_in * S_P;
            const float *b = bp + (int64_t)p * S_P;
            s_vf a0 = S_LD(b), a1 = S_LD(b + 16), a2 = S_LD(b + 32), a3 = S_LD(b + 48);
            s_vf a4 = S_LD(b + 64), a5 = S_LD(b + 80), a6 = S_LD(b + 96), a7 = S_LD(b + 112);
            for (int32_t i = 0; i < n_in; i++) {
                float s = in[i];
                a0 += S_LD(w0 + i * S_P) * s;
                a1 += S_LD(w0 + i * S_P + 16) * s;
                a2 += S_LD(w1 + i * S_P) * s;
                a3 += S_LD(w1 + i * S_P + 16) * s;
                a4 += S_LD(w2 + i * S_P) * s;
                a5 += S_LD(w2 + i * S_P + 16) * s;
                a6 += S_LD(w3 + i * S_P) * s;
                a7 += S_LD(w3 + i * S_P + 16) * s;
            }
            float *o = out + (int64_t)p * S_P;
            S_STORE(o, a0, relu);
            S_STORE(o + 16, a1, relu);
            S_STORE(o + 32, a2, relu);
            S_STORE(o + 48, a3, relu);
            S_STORE(o + 64, a4, relu);
            S_STORE(o + 80, a5, relu);
            S_STORE(o + 96, a6, relu);
            S_STORE(o + 112, a7, relu);
        }
    }
    for (; p < n_panels; p++) {
        const float *w = wp + (int64_t)p * n_in * S_P;
        const float *b = bp + (int64_t)p * S_P;
        int32_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const float *x0 = in + (int64_t)r * ld_in;
            const float *x1 = x0 + ld_in, *x2 = x1 + ld_in, *x3 = x2 + ld_in;
            s_vf b0 = S_LD(b), b1 = S_LD(b + 16);
            s_vf a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
            for (int32_t i = 0; i < n_in; i++) {
                s_vf v0 = S_LD(w + i * S_P), v1 = S_LD(w + i * S_P + 16);
                float s0 = x0[i], s1 = x1[i], s2 = x2[i], s3 = x3[i];
                a00 += v0 * s0;
                a01 += v1 * s0;
                a10 += v0 * s1;
                a11 += v1 * s1;
                a20 += v0 * s2;
                a21 += v1 * s2;
                a30 += v0 * s3;
                a31 += v1 * s3;
            }
            float *o = out + (int64_t)r * ld_out + (int64_t)p * S_P;
            S_STORE(o, a00, relu);
            S_STORE(o + 16, a01, relu);
            S_STORE(o + ld_out, a10, relu);
            S_STORE(o + ld_out + 16, a11, relu);
            S_STORE(o + 2 * ld_out, a20, relu);
            S_STORE(o + 2 * ld_out + 16, a21, relu);
            S_STORE(o + 3 * ld_out, a30, relu);
            S_STORE(o + 3 * ld_out + 16, a31, relu);
        }
        for (; r < rows; r++) {
            const float *x0 = in + (int64_t)r * ld_in;
            s_vf a0 = S_LD(b), a1 = S_LD(b + 16), c0 = {0}, c1 = {0};
            int32_t i = 0;
            for (; i + 2 <= n_in; i += 2) {   /* two chains per vector */
                a0 += S_LD(w + i * S_P) * x0[i];
                a1 += S_LD(w + i * S_P + 16) * x0[i];
                c0 += S_LD(w + (i + 1) * S_P) * x0[i + 1];
                c1 += S_LD(w + (i + 1) * S_P + 16) * x0[i + 1];
            }
            for (; i < n_in; i++) {
                a0 += S_LD(w + i * S_P) * x0[i];
                a1 += S_LD(w + i * S_P + 16) * x0[i];
            }
            float *o = out + (int64_t)r * ld_out + (int64_t)p * S_P;
            S_STORE(o, a0 + c0, relu);
            S_STORE(o + 16, a1 + c1, relu);
        }
    }
}

/* The same for 8-float vectors (AVX2 and the baseline ISA, 16 registers):
 * a panel row is 4 vectors, tiles of 2 rows x 32 outputs (8 accumulators). */
#define S_LD8(p) (*(const s_vf8 *)(p))
#define S_STORE8(p, a, relu)                                \
    do {                                                    \
        s_vf8 v_ = (a);                                     \
        if (relu) {                                         \
            s_vf8 z_ = {0};                                 \
            v_ = (s_vf8)((s_vi8)v_ & (s_vi8)(v_ > z_));     \
        }                                                   \
        *(s_vf8 *)(p) = v_;                                 \
    } while (0)

static inline __attribute__((always_inline)) void
s_layer_body8(const float *restrict in, int64_t ld_in, int32_t n_in, int32_t rows,
              const float *restrict wp, const float *restrict bp, int32_t n_panels,
              float *restrict out, int64_t ld_out, int relu)
{
    for (int32_t p = 0; p < n_panels; p++) {
        const float *w = wp + (int64_t)p * n_in * S_P;
        const float *b = bp + (int64_t)p * S_P;
        int32_t r = 0;
        for (; r + 2 <= rows; r += 2) {
            const float *x0 = in + (int64_t)r * ld_in;
            const float *x1 = x0 + ld_in;
            s_vf8 a0 = S_LD8(b), a1 = S_LD8(b + 8), a2 = S_LD8(b + 16), a3 = S_LD8(b + 24);
            s_vf8 c0 = a0, c1 = a1, c2 = a2, c3 = a3;
            for (int32_t i = 0; i < n_in; i++) {
                const float *wi = w + i * S_P;
                float s0 = x0[i], s1 = x1[i];
                s_vf8 v0 = S_LD8(wi), v1 = S_LD8(wi + 8), v2 = S_LD8(wi + 16), v3 = S_LD8(wi + 24);
                a0 += v0 * s0;
                a1 += v1 * s0;
                a2 += v2 * s0;
                a3 += v3 * s0;
                c0 += v0 * s1;
                c1 += v1 * s1;
                c2 += v2 * s1;
                c3 += v3 * s1;
            }
            float *o = out + (int64_t)r * ld_out + (int64_t)p * S_P;
            S_STORE8(o, a0, relu);
            S_STORE8(o + 8, a1, relu);
            S_STORE8(o + 16, a2, relu);
            S_STORE8(o + 24, a3, relu);
            S_STORE8(o + ld_out, c0, relu);
            S_STORE8(o + ld_out + 8, c1, relu);
            S_STORE8(o + ld_out + 16, c2, relu);
            S_STORE8(o + ld_out + 24, c3, relu);
        }
        for (; r < rows; r++) {
            const float *x0 = in + (int64_t)r * ld_in;
            s_vf8 a0 = S_LD8(b), a1 = S_LD8(b + 8), a2 = S_LD8(b + 16), a3 = S_LD8(b + 24);
            s_vf8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
            int32_t i = 0;
            for (; i + 2 <= n_in; i += 2) {   /* two chains per vector */
                const float *wi = w + i * S_P;
                float s0 = x0[i], s1 = x0[i + 1];
                a0 += S_LD8(wi) * s0;
                a1 += S_LD8(wi + 8) * s0;
                a2 += S_LD8(wi + 16) * s0;
                a3 += S_LD8(wi + 24) * s0;
                c0 += S_LD8(wi + 32) * s1;
                c1 += S_LD8(wi + 40) * s1;
                c2 += S_LD8(wi + 48) * s1;
                c3 += S_LD8(wi + 56) * s1;
            }
            for (; i < n_in; i++) {
                const float *wi = w + i * S_P;
                a0 += S_LD8(wi) * x0[i];
                a1 += S_LD8(wi + 8) * x0[i];
                a2 += S_LD8(wi + 16) * x0[i];
                a3 += S_LD8(wi + 24) * x0[i];
            }
            float *o = out + (int64_t)r * ld_out + (int64_t)p * S_P;
            S_STORE8(o, a0 + c0, relu);
            S_STORE8(o + 8, a1 + c1, relu);
            S_STORE8(o + 16, a2 + c2, relu);
            S_STORE8(o + 24, a3 + c3, relu);
        }
    }
}

/* Any ISA: plain loops over a panel's 32 outputs that the compiler
 * vectorizes with the target's own vector width (SSE2, NEON). */
static void s_layer_generic(const float *restrict in, int64_t ld_in, int32_t n_in, int32_t rows,
                            const float *restrict wp, const float *restrict bp, int32_t n_panels,
                            float *restrict out, int64_t ld_out, int relu)
{
    for (int32_t p = 0; p < n_panels; p++) {
        const float *w = wp + (int64_t)p * n_in * S_P;
        for (int32_t r = 0; r < rows; r++) {
            const float *x0 = in + (int64_t)r * ld_in;
            float acc[S_P];
            float *o = out + (int64_t)r * ld_out + (int64_t)p * S_P;
            for (int c = 0; c < S_P; c++)
                acc[c] = bp[p * S_P + c];
            for (int32_t i = 0; i < n_in; i++) {
                const float *wi = w + (int64_t)i * S_P;
                float s = x0[i];
#pragma GCC ivdep
                for (int c = 0; c < S_P; c++)
                    acc[c] += wi[c] * s;
            }
            for (int c = 0; c < S_P; c++)
                o[c] = relu && !(acc[c] > 0) ? 0.0f : acc[c];
        }
    }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define S_X86 1
__attribute__((target("avx2,fma"), optimize("fp-contract=fast"))) static void
s_layer_avx2(const float *in, int64_t ld_in, int32_t n_in, int32_t rows, const float *wp,
             const float *bp, int32_t n_panels, float *out, int64_t ld_out, int relu)
{
    s_layer_body8(in, ld_in, n_in, rows, wp, bp, n_panels, out, ld_out, relu);
}

__attribute__((target("avx512f,fma"), optimize("fp-contract=fast"))) static void
s_layer_avx512(const float *in, int64_t ld_in, int32_t n_in, int32_t rows, const float *wp,
               const float *bp, int32_t n_panels, float *out, int64_t ld_out, int relu)
{
    s_layer_body(in, ld_in, n_in, rows, wp, bp, n_panels, out, ld_out, relu);
}
#endif

static void s_pick_kernel(struct rls_mlp *m)
{
    const char *force = getenv("RLS_MLP_KERNEL");
    m->layer = s_layer_generic;
    m->kernel = "generic";
    if (force && strcmp(force, "generic") == 0)
        return;
#ifdef S_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && !(force && strcmp(force, "avx2") == 0)) {
        m->layer = s_layer_avx512;
        m->kernel = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        m->layer = s_layer_avx2;
        m->kernel = "avx2";
    }
#endif
}

/* ---------------------------------------------------------------------------
 * Lifecycle. */

static float *s_alloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        memset(p, 0, bytes ? bytes : 64);
    return p;
}

struct rls_mlp *rls_mlp_new(const struct rls_checkpoint *ck, int32_t max_batch,
                            struct rls_err *err)
{
    struct rls_mlp *m = NULL;
    int32_t widest = 0;
    if (max_batch < 1) {
        rls_err_set(err, RLS_ERR_RANGE, "mlp: max_batch %d must be >= 1", (int)max_batch);
        return NULL;
    }
    if (rls_checkpoint_validate(ck, "mlp", err) != RLS_OK)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        goto nomem;
    m->n_layers = ck->n_layers;
    memcpy(m->sizes, ck->sizes, sizeof(m->sizes));
    m->flops = rls_checkpoint_macs(ck);
    for (int32_t l = 0; l < m->n_layers; l++) {
        int32_t n_in = ck->sizes[l], n_out = ck->sizes[l + 1];
        int32_t np = (n_out + S_P - 1) / S_P;
        m->panels[l] = np;
        if (np * S_P > widest)
            widest = np * S_P;
        m->wp[l] = s_alloc((size_t)np * (size_t)n_in * S_P);
        m->bp[l] = s_alloc((size_t)np * S_P);
        if (!m->wp[l] || !m->bp[l])
            goto nomem;
        for (int32_t o = 0; o < n_out; o++) {
            int32_t p = o / S_P, c = o % S_P;
            float *dst = m->wp[l] + (size_t)p * (size_t)n_in * S_P + (size_t)c;
            const float *src = ck->weight[l] + (size_t)o * (size_t)n_in;
            for (int32_t i = 0; i < n_in; i++)
                dst[(size_t)i * S_P] = src[i];
            m->bp[l][o] = ck->bias[l][o];
        }
    }
    m->ld = widest;
    m->mean = s_alloc((size_t)ck->sizes[0]);
    m->std = s_alloc((size_t)ck->sizes[0]);
    m->xin = s_alloc((size_t)S_CHUNK * (size_t)ck->sizes[0]);
    m->act[0] = s_alloc((size_t)S_CHUNK * (size_t)widest);
    m->act[1] = s_alloc((size_t)S_CHUNK * (size_t)widest);
    if (!m->mean || !m->std || !m->xin || !m->act[0] || !m->act[1])
        goto nomem;
    memcpy(m->mean, ck->obs_mean, (size_t)ck->sizes[0] * sizeof(float));
    memcpy(m->std, ck->obs_std, (size_t)ck->sizes[0] * sizeof(float));
    s_pick_kernel(m);
    return m;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "mlp: out of memory");
    rls_mlp_destroy(&m);
    return NULL;
}

void rls_mlp_destroy(struct rls_mlp **m)
{
    if (!m || !*m)
        return;
    for (int l = 0; l < RLS_MLP_MAX_LAYERS; l++) {
        free((*m)->wp[l]);
        free((*m)->bp[l]);
    }
    free((*m)->mean);
    free((*m)->std);
    free((*m)->xin);
    free((*m)->act[0]);
    free((*m)->act[1]);
    free(*m);
    *m = NULL;
}

/* ---------------------------------------------------------------------------
 * Forward. */

int rls_mlp_forward(struct rls_mlp *m, const float *x, int32_t batch, float *out)
{
    if (!m || !x || !out || batch < 0)
        return RLS_ERR_INVALID;
    const int32_t nf = m->sizes[0];
    const int32_t n_out = m->sizes[m->n_layers];
    for (int32_t r0 = 0; r0 < batch; r0 += S_CHUNK) {
        int32_t rows = batch - r0 < S_CHUNK ? batch - r0 : S_CHUNK;
        const float *xr = x + (int64_t)r0 * nf;
        const float *in = m->xin;
        int64_t ld_in = nf;
        float *dst = NULL;
        for (int64_t k = 0; k < (int64_t)rows * nf; k++) {
            int32_t j = (int32_t)(k % nf);
            m->xin[k] = (xr[k] - m->mean[j]) / m->std[j];
        }
        for (int32_t l = 0; l < m->n_layers; l++) {
            dst = m->act[l & 1];
            m->layer(in, ld_in, m->sizes[l], rows, m->wp[l], m->bp[l], m->panels[l], dst, m->ld,
                     l + 1 < m->n_layers);
            in = dst;
            ld_in = m->ld;
        }
        for (int32_t r = 0; r < rows; r++)
            memcpy(out + (int64_t)(r0 + r) * n_out, dst + (int64_t)r * m->ld,
                   (size_t)n_out * sizeof(float));
    }
    return RLS_OK;
}

int64_t rls_mlp_flops(const struct rls_mlp *m)
{
    return m ? m->flops : 0;
}

int32_t rls_mlp_n_inputs(const struct rls_mlp *m)
{
    return m ? m->sizes[0] : 0;
}

int32_t rls_mlp_n_outputs(const struct rls_mlp *m)
{
    return m ? m->sizes[m->n_layers] : 0;
}

const char *rls_mlp_kernel(const struct rls_mlp *m)
{
    return m ? m->kernel : "";
}
