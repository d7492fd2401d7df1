/* explain.c - integrated gradients for a checkpoint's ReLU MLP (explain.h):
 * a double-precision forward that keeps every pre-activation, the backward
 * pass of one output through it, and the trapezoid rule along the straight
 * path from the baseline, doubled until the attributions sum to the change
 * of the output. The action choice uses the deployed float forward (mlp.h).
 */
#include "explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

struct rls_explainer {
    struct rls_explain_params prm;
    int32_t n_layers;
    int32_t sizes[RLS_MLP_MAX_LAYERS + 1];
    int32_t n_actions, n_outputs;
    double *w[RLS_MLP_MAX_LAYERS];   /* layer l: [sizes[l+1], sizes[l]] */
    double *b[RLS_MLP_MAX_LAYERS];   /* [sizes[l+1]] */
    double mean[RLS_EXPLAIN_MAX_FEATURES], std[RLS_EXPLAIN_MAX_FEATURES];
    float baseline[RLS_EXPLAIN_MAX_FEATURES];
    double *z[RLS_MLP_MAX_LAYERS + 1]; /* z[0]: normalized input; z[l+1]: layer l's
                                          pre-activation [sizes[l+1]] */
    double *a[RLS_MLP_MAX_LAYERS + 1]; /* exact method: pre-activations along the path */
    double *d[RLS_MLP_MAX_LAYERS + 1]; /* z(t) = a + t d within one linear region */
    double *g, *g2;                  /* backward scratch [max width] */
    float *xt;                       /* a path point [n_inputs] */
    void *xt_pat;                    /* exact, two hidden layers: patterns [sizes[1] + sizes[2]] */
    double *w1t;                     /* exact, two hidden layers: W1 transposed [sizes[1], sizes[2]] */
    float *q;                        /* float outputs [n_outputs] */
    struct rls_mlp *mlp;
};

struct rls_explain_params rls_explain_default_params(void)
{
    struct rls_explain_params p;
    memset(&p, 0, sizeof(p));
    p.baseline = NULL;
    p.tol = 1e-4;
    p.min_steps = 8;
    p.max_steps = 65536;
    p.method = RLS_EXPLAIN_EXACT;
    p.max_regions = 1000000;
    return p;
}

static int s_pow2(int32_t v)
{
    return v >= 1 && v <= (1 << 24) && (v & (v - 1)) == 0;
}

void rls_explainer_destroy(struct rls_explainer **e)
{
    if (!e || !*e)
        return;
    struct rls_explainer *s = *e;
    for (int32_t l = 0; l < RLS_MLP_MAX_LAYERS; l++) {
        free(s->w[l]);
        free(s->b[l]);
    }
    for (int32_t l = 0; l <= RLS_MLP_MAX_LAYERS; l++) {
        free(s->z[l]);
        free(s->a[l]);
        free(s->d[l]);
    }
    free(s->g);
    free(s->g2);
    free(s->xt);
    free(s->xt_pat);
    free(s->w1t);
    free(s->q);
    rls_mlp_destroy(&s->mlp);
    free(s);
    *e = NULL;
}

struct rls_explainer *rls_explainer_new(const struct rls_checkpoint *ck,
                                        const struct rls_explain_params *prm,
                                        struct rls_err *err)
{
    struct rls_explainer *s = NULL;
    struct rls_explain_params p = prm ? *prm : rls_explain_default_params();
    struct rls_err verr;
    int32_t maxw = 0;
    if (!ck) {
        rls_err_set(err, RLS_ERR_INVALID, "explain: NULL checkpoint");
        return NULL;
    }
    if (rls_checkpoint_validate(ck, NULL, &verr) != RLS_OK) {
        rls_err_set(err, RLS_ERR_INVALID, "explain: %s", verr.msg);
        return NULL;
    }
    if (strcmp(ck->activation, "relu") != 0) {
        rls_err_set(err, RLS_ERR_INVALID, "explain: activation '%s' (only relu)", ck->activation);
        return NULL;
    }
    if (ck->sizes[0] > RLS_EXPLAIN_MAX_FEATURES) {
        rls_err_set(err, RLS_ERR_INVALID, "explain: %d inputs (at most %d)", (int)ck->sizes[0],
                    RLS_EXPLAIN_MAX_FEATURES);
        return NULL;
    }
    if (!(isfinite(p.tol) && p.tol > 0.0)) {
        rls_err_set(err, RLS_ERR_RANGE, "explain: tol %g (must be finite and > 0)", p.tol);
        return NULL;
    }
    if (p.method != RLS_EXPLAIN_EXACT && p.method != RLS_EXPLAIN_TRAPEZOID) {
        rls_err_set(err, RLS_ERR_RANGE, "explain: method %d (0 exact, 1 trapezoid)", (int)p.method);
        return NULL;
    }
    if (p.max_regions < 1) {
        rls_err_set(err, RLS_ERR_RANGE, "explain: max_regions %d (must be >= 1)", (int)p.max_regions);
        return NULL;
    }
    if (!s_pow2(p.min_steps) || !s_pow2(p.max_steps) || p.min_steps > p.max_steps) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "explain: min_steps %d / max_steps %d (powers of 2 in 1..2^24, min <= max)",
                    (int)p.min_steps, (int)p.max_steps);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        goto nomem;
    s->n_layers = ck->n_layers;
    memcpy(s->sizes, ck->sizes, sizeof(s->sizes));
    s->n_actions = ck->n_actions;
    s->n_outputs = ck->sizes[ck->n_layers];
    for (int32_t i = 0; i < ck->sizes[0]; i++) {
        const float *bl = p.baseline ? p.baseline : ck->obs_mean;
        if (!isfinite(bl[i])) {
            rls_err_set(err, RLS_ERR_RANGE, "explain: baseline feature %d is not finite", (int)i);
            rls_explainer_destroy(&s);
            return NULL;
        }
        s->baseline[i] = bl[i];
        s->mean[i] = ck->obs_mean[i];
        s->std[i] = ck->obs_std[i];
    }
    p.baseline = NULL;   /* copied: the caller's array need not live on */
    s->prm = p;
    for (int32_t l = 0; l <= ck->n_layers; l++)
        if (ck->sizes[l] > maxw)
            maxw = ck->sizes[l];
    for (int32_t l = 0; l < ck->n_layers; l++) {
        size_t nin = (size_t)ck->sizes[l], nout = (size_t)ck->sizes[l + 1];
        s->w[l] = malloc(nin * nout * sizeof(double));
        s->b[l] = malloc(nout * sizeof(double));
        if (!s->w[l] || !s->b[l])
            goto nomem;
        for (size_t k = 0; k < nin * nout; k++)
            s->w[l][k] = ck->weight[l][k];
        for (size_t k = 0; k < nout; k++)
            s->b[l][k] = ck->bias[l][k];
    }
    for (int32_t l = 0; l <= ck->n_layers; l++) {
        s->z[l] = malloc((size_t)ck->sizes[l] * sizeof(double));
        s->a[l] = malloc((size_t)ck->sizes[l] * sizeof(double));
        s->d[l] = malloc((size_t)ck->sizes[l] * sizeof(double));
        if (!s->z[l] || !s->a[l] || !s->d[l])
            goto nomem;
    }
    s->g = malloc((size_t)maxw * sizeof(double));
    s->g2 = malloc((size_t)maxw * sizeof(double));
    s->xt = malloc((size_t)ck->sizes[0] * sizeof(float));
    s->q = malloc((size_t)s->n_outputs * sizeof(float));
    s->xt_pat = malloc((size_t)ck->sizes[1] + (size_t)(ck->n_layers > 1 ? ck->sizes[2] : 0) + 1);
    if (!s->g || !s->g2 || !s->xt || !s->q || !s->xt_pat)
        goto nomem;
    if (ck->n_layers == 3) {   /* columns of W1 contiguous for s_exact3 */
        size_t n1 = (size_t)ck->sizes[1], n2 = (size_t)ck->sizes[2];
        s->w1t = malloc(n1 * n2 * sizeof(double));
        if (!s->w1t)
            goto nomem;
        for (size_t k = 0; k < n2; k++)
            for (size_t j = 0; j < n1; j++)
                s->w1t[j * n2 + k] = s->w[1][k * n1 + j];
    }
    s->mlp = rls_mlp_new(ck, 1, err);
    if (!s->mlp) {
        rls_explainer_destroy(&s);
        return NULL;
    }
    return s;
nomem:
    rls_explainer_destroy(&s);
    rls_err_set(err, RLS_ERR_NOMEM, "explain: out of memory");
    return NULL;
}

int32_t rls_explainer_n_inputs(const struct rls_explainer *e)
{
    return e ? e->sizes[0] : 0;
}

int32_t rls_explainer_n_outputs(const struct rls_explainer *e)
{
    return e ? e->n_outputs : 0;
}

int32_t rls_explainer_n_actions(const struct rls_explainer *e)
{
    return e ? e->n_actions : 0;
}

/* Forward at raw x, keeping z[0] (normalized input) and every layer's
 * pre-activation z[l+1]; the output is z[n_layers]. */
static void s_forward(struct rls_explainer *s, const float *x)
{
    int32_t F = s->sizes[0];
    for (int32_t i = 0; i < F; i++)
        s->z[0][i] = ((double)x[i] - s->mean[i]) / s->std[i];
    for (int32_t l = 0; l < s->n_layers; l++) {
        int32_t nin = s->sizes[l], nout = s->sizes[l + 1];
        const double *in = s->z[l];
        double *out = s->z[l + 1];
        for (int32_t o = 0; o < nout; o++) {
            const double *w = s->w[l] + (size_t)o * (size_t)nin;
            double acc = s->b[l][o];
            if (l == 0) {
                for (int32_t i = 0; i < nin; i++)
                    acc += w[i] * in[i];
            } else {
                for (int32_t i = 0; i < nin; i++)
                    acc += in[i] > 0.0 ? w[i] * in[i] : 0.0;
            }
            out[o] = acc;
        }
    }
}

/* d out[action] / d x_raw into grad[F], after s_forward at x. */
static void s_backward(struct rls_explainer *s, int32_t action, double *grad)
{
    int32_t L = s->n_layers;
    double *g = s->g, *g2 = s->g2;
    for (int32_t o = 0; o < s->sizes[L]; o++)
        g[o] = o == action ? 1.0 : 0.0;
    for (int32_t l = L - 1; l >= 0; l--) {
        int32_t nin = s->sizes[l], nout = s->sizes[l + 1];
        for (int32_t i = 0; i < nin; i++)
            g2[i] = 0.0;
        for (int32_t o = 0; o < nout; o++) {
            double go = g[o];
            if (go == 0.0)
                continue;
            const double *w = s->w[l] + (size_t)o * (size_t)nin;
            for (int32_t i = 0; i < nin; i++)
                g2[i] += w[i] * go;
        }
        if (l > 0)   /* through the ReLU of layer l-1's output: off at <= 0 */
            for (int32_t i = 0; i < nin; i++)
                if (!(s->z[l][i] > 0.0))
                    g2[i] = 0.0;
        double *t = g;
        g = g2;
        g2 = t;
    }
    for (int32_t i = 0; i < s->sizes[0]; i++)
        grad[i] = g[i] / s->std[i];
}

int rls_explainer_forward(struct rls_explainer *e, const float *x, double *out)
{
    if (!e || !x || !out)
        return RLS_ERR_INVALID;
    s_forward(e, x);
    memcpy(out, e->z[e->n_layers], (size_t)e->n_outputs * sizeof(double));
    return RLS_OK;
}

int rls_explainer_gradient(struct rls_explainer *e, const float *x, int32_t action, double *grad)
{
    if (!e || !x || !grad)
        return RLS_ERR_INVALID;
    if (action < 0 || action >= e->n_outputs)
        return RLS_ERR_RANGE;
    s_forward(e, x);
    s_backward(e, action, grad);
    return RLS_OK;
}

int rls_explainer_choose(struct rls_explainer *e, const float *x, const uint8_t *mask,
                         double support_tau, int32_t *action)
{
    int32_t best = -1, A;
    int rc;
    if (!e || !x || !action)
        return RLS_ERR_INVALID;
    if (!(support_tau > 0.0 && support_tau <= 1.0))
        return RLS_ERR_RANGE;
    rc = rls_mlp_forward(e->mlp, x, 1, e->q);
    if (rc != RLS_OK)
        return rc;
    A = e->n_actions;
    const float *q = e->q;
    if (e->n_outputs >= 2 * A) {   /* learned.c's two-head rule */
        const float *b = q + A;
        float bmax = -INFINITY;
        for (int32_t a = 0; a < A; a++)
            if ((!mask || mask[a]) && b[a] > bmax)
                bmax = b[a];
        float cut = bmax + logf((float)support_tau);
        for (int32_t a = 0; a < A; a++)
            if ((!mask || mask[a]) && b[a] >= cut && (best < 0 || q[a] > q[best]))
                best = a;
    } else {
        for (int32_t a = 0; a < A; a++)
            if ((!mask || mask[a]) && (best < 0 || q[a] > q[best]))
                best = a;
    }
    *action = best;
    return RLS_OK;
}

/* Adds the gradient at path point t to acc[F] with weight wt. */
static void s_accumulate(struct rls_explainer *s, const float *x, double t, int32_t action,
                         double wt, double *acc, double *grad)
{
    int32_t F = s->sizes[0];
    for (int32_t i = 0; i < F; i++)
        s->xt[i] = (float)((double)s->baseline[i] + t * ((double)x[i] - (double)s->baseline[i]));
    s_forward(s, s->xt);
    s_backward(s, action, grad);
    for (int32_t i = 0; i < F; i++)
        acc[i] += wt * grad[i];
}

/* The exact integral for a ReLU network: along the path the network is
 * affine within each linear region (fixed on/off pattern of the hidden
 * units), so the gradient is constant there. From t0, the pattern just after
 * t0 gives every hidden pre-activation as a + t d; the region ends at the
 * first unit that turns (on with d < 0, or off with d > 0, at t = -a / d);
 * the gradient of the region (a backward pass through its pattern) times
 * its length is added. attr[F] gets (x - b) * integral; *regions the count.
 * Returns 0, or -1 after max_regions regions. */
static int s_exact(struct rls_explainer *s, const float *x, int32_t action, double *attr,
                   int32_t *regions)
{
    int32_t F = s->sizes[0], L = s->n_layers, n = 0;
    double grad[RLS_EXPLAIN_MAX_FEATURES], delta[RLS_EXPLAIN_MAX_FEATURES];
    double t0 = 0.0;
    for (int32_t i = 0; i < F; i++) {
        delta[i] = (double)x[i] - (double)s->baseline[i];
        s->a[0][i] = ((double)s->baseline[i] - s->mean[i]) / s->std[i];
        s->d[0][i] = delta[i] / s->std[i];
        attr[i] = 0.0;
    }
    while (t0 < 1.0) {
        double t1 = 1.0;
        if (n >= s->prm.max_regions)
            return -1;
        /* affine pre-activations of this region, layer by layer; the pattern
         * (z[l] = +1 on / -1 off, read by s_backward) is the one just after t0 */
        for (int32_t l = 0; l < L; l++) {
            int32_t nin = s->sizes[l], nout = s->sizes[l + 1];
            const double *ai = s->a[l], *di = s->d[l];
            if (l > 0) {
                for (int32_t i = 0; i < nin; i++) {
                    double v = ai[i] + t0 * di[i];
                    double eps = 1e-12 * (fabs(ai[i]) + fabs(t0 * di[i]));
                    int on = v > eps || (v >= -eps && di[i] > 0.0);
                    s->z[l][i] = on ? 1.0 : -1.0;
                    if (di[i] != 0.0 && (on ? di[i] < 0.0 : di[i] > 0.0)) {
                        double tc = -ai[i] / di[i];
                        if (tc < t1)
                            t1 = tc;
                    }
                }
            }
            for (int32_t o = 0; o < nout; o++) {
                const double *w = s->w[l] + (size_t)o * (size_t)nin;
                double acc_a = s->b[l][o], acc_d = 0.0;
                for (int32_t i = 0; i < nin; i++) {
                    if (l > 0 && !(s->z[l][i] > 0.0))
                        continue;
                    acc_a += w[i] * ai[i];
                    acc_d += w[i] * di[i];
                }
                s->a[l + 1][o] = acc_a;
                s->d[l + 1][o] = acc_d;
            }
        }
        if (t1 <= t0)          /* a unit at its kink by rounding: step over it */
            t1 = nextafter(t0, 2.0);
        if (t1 > 1.0)
            t1 = 1.0;
        s_backward(s, action, grad);
        for (int32_t i = 0; i < F; i++)
            attr[i] += delta[i] * grad[i] * (t1 - t0);
        t0 = t1;
        n++;
    }
    *regions = n;
    return 0;
}

/* The unit's state just after t0 (value a + t0 d; at a kink, the slope's
 * sign decides) and, into *t1, the point where it turns when that is sooner. */
static int s_on_after(double a, double d, double t0, double *t1)
{
    double v = a + t0 * d;
    double eps = 1e-12 * (fabs(a) + fabs(t0 * d));
    int on = v > eps || (v >= -eps && d > 0.0);
    if (d != 0.0 && (on ? d < 0.0 : d > 0.0)) {
        double tc = -a / d;
        if (tc < *t1)
            *t1 = tc;
    }
    return on;
}

/* s_exact for two hidden layers (the shipped networks), incrementally: the
 * first hidden layer is affine in t along the whole path; a unit of it that
 * turns changes the second's coefficients by one column of W1, and a unit of
 * the second that turns changes u = W1^T (p2 * W2[action]) by one row, so a
 * region costs O(width) instead of a forward and a backward pass. The
 * integral of p1 * u is kept per first-layer unit and multiplied by W0 once. */
static int s_exact3(struct rls_explainer *s, const float *x, int32_t action, double *attr,
                    int32_t *regions)
{
    int32_t F = s->sizes[0], n1 = s->sizes[1], n2 = s->sizes[2], n = 0;
    double delta[RLS_EXPLAIN_MAX_FEATURES];
    double *a1 = s->a[1], *d1 = s->d[1], *a2 = s->a[2], *d2 = s->d[2];
    double *u = s->z[1], *acc = s->g;          /* [n1] each */
    uint8_t *p1 = (uint8_t *)s->xt_pat, *p2 = p1 + n1;
    const double *w0 = s->w[0], *w1 = s->w[1], *v = s->w[2] + (size_t)action * (size_t)n2;
    double t0 = 0.0;
    for (int32_t i = 0; i < F; i++) {
        delta[i] = (double)x[i] - (double)s->baseline[i];
        s->a[0][i] = ((double)s->baseline[i] - s->mean[i]) / s->std[i];
        s->d[0][i] = delta[i] / s->std[i];
    }
    for (int32_t j = 0; j < n1; j++) {
        const double *w = w0 + (size_t)j * (size_t)F;
        double aa = s->b[0][j], dd = 0.0;
        for (int32_t i = 0; i < F; i++) {
            aa += w[i] * s->a[0][i];
            dd += w[i] * s->d[0][i];
        }
        a1[j] = aa;
        d1[j] = dd;
        p1[j] = 0;
        u[j] = 0.0;
        acc[j] = 0.0;
    }
    for (int32_t k = 0; k < n2; k++) {   /* every first-layer unit off: biases only */
        a2[k] = s->b[1][k];
        d2[k] = 0.0;
        p2[k] = 0;
    }
    while (t0 < 1.0) {
        double t1 = 1.0;
        if (n >= s->prm.max_regions)
            return -1;
        for (int32_t j = 0; j < n1; j++) {
            int on = s_on_after(a1[j], d1[j], t0, &t1);
            if (on != p1[j]) {
                double sa = on ? a1[j] : -a1[j], sd = on ? d1[j] : -d1[j];
                const double *col = s->w1t + (size_t)j * (size_t)n2;
                for (int32_t k = 0; k < n2; k++) {
                    a2[k] += col[k] * sa;
                    d2[k] += col[k] * sd;
                }
                p1[j] = (uint8_t)on;
            }
        }
        for (int32_t k = 0; k < n2; k++) {
            int on = s_on_after(a2[k], d2[k], t0, &t1);
            if (on != p2[k]) {
                double c = on ? v[k] : -v[k];
                const double *w = w1 + (size_t)k * (size_t)n1;
                if (c != 0.0)
                    for (int32_t j = 0; j < n1; j++)
                        u[j] += c * w[j];
                p2[k] = (uint8_t)on;
            }
        }
        if (t1 <= t0)
            t1 = nextafter(t0, 2.0);
        if (t1 > 1.0)
            t1 = 1.0;
        double len = t1 - t0;
        for (int32_t j = 0; j < n1; j++)
            if (p1[j])
                acc[j] += len * u[j];
        t0 = t1;
        n++;
    }
    for (int32_t i = 0; i < F; i++) {
        double gsum = 0.0;
        for (int32_t j = 0; j < n1; j++)
            gsum += w0[(size_t)j * (size_t)F + (size_t)i] * acc[j];
        attr[i] = delta[i] * gsum / s->std[i];
    }
    *regions = n;
    return 0;
}

int rls_explainer_explain(struct rls_explainer *e, const float *x, int32_t n_features,
                          int32_t action, struct rls_explanation *out)
{
    double ends[RLS_EXPLAIN_MAX_FEATURES], inner[RLS_EXPLAIN_MAX_FEATURES];
    double grad[RLS_EXPLAIN_MAX_FEATURES], attr[RLS_EXPLAIN_MAX_FEATURES];
    double fx, fb, target, sum = 0.0, cerr = INFINITY;
    int32_t F, n;
    int used = RLS_EXPLAIN_TRAPEZOID;
    if (!e || !x || !out || n_features != e->sizes[0])
        return RLS_ERR_INVALID;
    if (action < 0 || action >= e->n_outputs)
        return RLS_ERR_RANGE;
    F = n_features;
    for (int32_t i = 0; i < F; i++)
        if (!isfinite(x[i]))
            return RLS_ERR_RANGE;
    /* The path points are rounded to float (the network's input type): the
     * ends are exactly x and the baseline, so f at them is exact. */
    s_forward(e, x);
    fx = e->z[e->n_layers][action];
    s_forward(e, e->baseline);
    fb = e->z[e->n_layers][action];
    target = fx - fb;
    if (e->prm.method == RLS_EXPLAIN_EXACT) {
        int32_t regions = 0;
        int rc = e->n_layers == 3 ? s_exact3(e, x, action, attr, &regions)
                                  : s_exact(e, x, action, attr, &regions);
        if (rc == 0) {
            sum = 0.0;
            for (int32_t i = 0; i < F; i++)
                sum += attr[i];
            cerr = fabs(sum - target);
            n = regions;
            used = RLS_EXPLAIN_EXACT;
            goto fill;
        }
    }
    memset(ends, 0, sizeof(ends));
    memset(inner, 0, sizeof(inner));
    s_accumulate(e, x, 0.0, action, 0.5, ends, grad);
    s_accumulate(e, x, 1.0, action, 0.5, ends, grad);
    for (int32_t k = 1; k < e->prm.min_steps; k++)
        s_accumulate(e, x, (double)k / e->prm.min_steps, action, 1.0, inner, grad);
    n = e->prm.min_steps;
    for (;;) {
        sum = 0.0;
        for (int32_t i = 0; i < F; i++) {
            attr[i] = ((double)x[i] - (double)e->baseline[i]) * (ends[i] + inner[i]) / n;
            sum += attr[i];
        }
        cerr = fabs(sum - target);
        if (cerr <= e->prm.tol || n >= e->prm.max_steps)
            break;
        /* doubling: the new points are the midpoints (2k+1) / 2n */
        for (int32_t k = 0; k < n; k++)
            s_accumulate(e, x, (2.0 * k + 1.0) / (2.0 * n), action, 1.0, inner, grad);
        n *= 2;
    }
fill:
    memset(out, 0, sizeof(*out));
    out->method = used;
    out->n_features = F;
    out->action = action;
    memcpy(out->attr, attr, (size_t)F * sizeof(double));
    out->f_x = fx;
    out->f_baseline = fb;
    out->sum = sum;
    out->completeness_err = cerr;
    out->steps = n;
    out->converged = cerr <= e->prm.tol;
    return RLS_OK;
}

int32_t rls_explanation_top(const struct rls_explanation *x, int32_t k, int32_t *idx)
{
    int32_t n = 0;
    if (!x || !idx || k <= 0)
        return 0;
    if (k > x->n_features)
        k = x->n_features;
    /* selection by insertion: features are few (25) */
    for (int32_t i = 0; i < x->n_features; i++) {
        double a = fabs(x->attr[i]);
        int32_t pos = n;
        while (pos > 0 && fabs(x->attr[idx[pos - 1]]) < a)
            pos--;
        if (pos >= k)
            continue;
        int32_t last = n < k ? n : k - 1;
        for (int32_t j = last; j > pos; j--)
            idx[j] = idx[j - 1];
        idx[pos] = i;
        if (n < k)
            n++;
    }
    return n;
}
