// torch_shim.cpp - the trainer's only C++: libtorch behind the C interface of
// torch_shim.h. Every extern "C" function that can throw runs its body inside
// s_guard() (the constructors inside s_guard_new(), which uses it), which
// catches c10::Error (keeping what_without_backtrace()), std::exception and
// anything else, stores the message in a thread-local string and returns a
// status (or NULL): no exception crosses into C.
//
// Networks are plain lists of weight/bias tensors (no torch::nn::Module):
// forward is linear, relu, ..., linear, the fewest dispatcher calls for the
// small MLPs the trainer uses.
#include <torch/torch.h>
#include <torch/script.h>

#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "trainer/torch_shim.h"
#include "env/status.h"

// ------------------------------------------------------------- error boundary

static thread_local std::string s_errmsg;

static int s_fail(int status, const std::string &msg)
{
    s_errmsg = msg;
    return status;
}

// Runs body (a lambda returning an int status); any exception becomes
// failval with its message kept for rls_torch_errmsg().
template <class Body> static int s_guard(int failval, Body body)
{
    try {
        return body();
    } catch (const c10::Error &e) {
        s_errmsg = std::string("libtorch: ") + e.what_without_backtrace();
    } catch (const std::exception &e) {
        s_errmsg = std::string("libtorch: ") + e.what();
    } catch (...) {
        s_errmsg = "libtorch: unknown exception";
    }
    return failval;
}

// s_guard for the constructors: body returns the new object (or NULL after
// s_fail); any exception becomes NULL with its message kept. Bodies hold the
// object in a std::unique_ptr until they return it, so a throw frees it.
template <class T, class Body> static T *s_guard_new(Body body)
{
    T *made = NULL;
    s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        made = body();
        return RLS_OK;
    });
    return made;
}

// ----------------------------------------------------------------- structures

struct rls_tnet {
    int32_t n_layers = 0;
    int32_t sizes[RLS_TORCH_MAX_LAYERS + 1] = {0};
    std::vector<torch::Tensor> w;   // [sizes[l+1], sizes[l]]
    std::vector<torch::Tensor> b;   // [sizes[l+1]]
};

struct rls_tadam {
    std::unique_ptr<torch::optim::Adam> adam;
};

struct rls_tbatch {
    int32_t cap = 0, n = 0, F = 0, A = 0;
    torch::Tensor obs, next_obs;          // [cap, F] float
    torch::Tensor action;                 // [cap] int64
    torch::Tensor reward, notdone;        // [cap] float, notdone = 1 - done
    torch::Tensor blocked, next_blocked;  // [cap, A] bool, true = masked out
};

struct rls_tgraph {
    torch::Tensor loss;
};

// Views of the first n rows of a batch.
struct s_rows {
    torch::Tensor obs, next_obs, action, reward, notdone, blocked, next_blocked;
};

static s_rows s_view(const rls_tbatch *b)
{
    s_rows r;
    r.obs = b->obs.narrow(0, 0, b->n);
    r.next_obs = b->next_obs.narrow(0, 0, b->n);
    r.action = b->action.narrow(0, 0, b->n);
    r.reward = b->reward.narrow(0, 0, b->n);
    r.notdone = b->notdone.narrow(0, 0, b->n);
    r.blocked = b->blocked.narrow(0, 0, b->n);
    r.next_blocked = b->next_blocked.narrow(0, 0, b->n);
    return r;
}

// x [B, sizes[0]] -> [B, sizes[n_layers]]
static torch::Tensor s_forward(const rls_tnet *net, torch::Tensor x)
{
    for (int32_t l = 0; l < net->n_layers; l++) {
        x = torch::linear(x, net->w[l], net->b[l]);
        if (l + 1 < net->n_layers)
            x = torch::relu(x);
    }
    return x;
}

// Greedy actions [B] from outputs out [B, A * n_heads] and blocked [B, A].
static torch::Tensor s_select(const torch::Tensor &out, const torch::Tensor &blocked, int32_t A,
                              int32_t n_heads, double bcq_tau)
{
    torch::Tensor q = out.narrow(1, 0, A);
    torch::Tensor off = blocked;
    if (n_heads == 2) {
        torch::Tensor logits = out.narrow(1, A, A).masked_fill(blocked, RLS_TORCH_MASKED);
        torch::Tensor lp = torch::log_softmax(logits, 1);
        torch::Tensor ratio = lp - std::get<0>(lp.max(1, true));
        off = torch::logical_or(blocked, ratio < std::log(bcq_tau));
    }
    return q.masked_fill(off, RLS_TORCH_MASKED).argmax(1);
}

static int s_check_net(const rls_tnet *net, int32_t F, int32_t A, int32_t heads, const char *what)
{
    if (!net)
        return s_fail(RLS_ERR_INVALID, std::string(what) + ": NULL network");
    if (net->sizes[0] != F || net->sizes[net->n_layers] != A * heads) {
        char buf[160];
        snprintf(buf, sizeof buf, "%s: network maps %d -> %d, batch needs %d -> %d", what,
                 net->sizes[0], net->sizes[net->n_layers], F, A * heads);
        return s_fail(RLS_ERR_INVALID, buf);
    }
    return RLS_OK;
}

// ---------------------------------------------------------------- process setup

extern "C" const char *rls_torch_errmsg(void)
{
    return s_errmsg.c_str();
}

extern "C" int rls_torch_setup(int32_t threads, uint64_t seed, char *blas, size_t blas_len)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        typedef void (*set_threads_fn)(int);
        set_threads_fn set_threads = NULL;
        void *sym = NULL;
        Dl_info info;
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        // OpenBLAS read OPENBLAS_NUM_THREADS in its constructor, before main:
        // tell the loaded library directly.
        sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
        memcpy(&set_threads, &sym, sizeof set_threads);
        if (set_threads)
            set_threads(1);
        torch::set_num_threads(threads > 0 ? threads : 1);
        torch::manual_seed(seed);
        if (blas && blas_len > 0) {
            snprintf(blas, blas_len, "?");
            sym = dlsym(RTLD_DEFAULT, "sgemm_");
            if (sym && dladdr(sym, &info) && info.dli_fname) {
                char *real = realpath(info.dli_fname, NULL);
                snprintf(blas, blas_len, "%s%s", real ? real : info.dli_fname,
                         set_threads ? " (openblas_set_num_threads(1))" : "");
                free(real);
            }
        }
        return RLS_OK;
    });
}

extern "C" int rls_torch_seed(uint64_t seed)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        torch::manual_seed(seed);
        return RLS_OK;
    });
}

// --------------------------------------------------------------------- networks

extern "C" struct rls_tnet *rls_tnet_new(int32_t n_layers, const int32_t *sizes)
{
    return s_guard_new<rls_tnet>([&]() -> rls_tnet * {
        if (n_layers < 1 || n_layers > RLS_TORCH_MAX_LAYERS || !sizes) {
            s_fail(RLS_ERR_INVALID, "rls_tnet_new: n_layers must be 1.." +
                                        std::to_string(RLS_TORCH_MAX_LAYERS));
            return NULL;
        }
        for (int32_t l = 0; l <= n_layers; l++)
            if (sizes[l] < 1) {
                s_fail(RLS_ERR_INVALID, "rls_tnet_new: sizes[" + std::to_string(l) + "] < 1");
                return NULL;
            }
        std::unique_ptr<rls_tnet> net(new rls_tnet());
        net->n_layers = n_layers;
        torch::NoGradGuard no_grad;
        for (int32_t l = 0; l < n_layers; l++) {
            net->sizes[l] = sizes[l];
            // torch.nn.Linear.reset_parameters: weight first, then bias.
            torch::Tensor w = torch::empty({sizes[l + 1], sizes[l]});
            torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
            double bound = 1.0 / std::sqrt((double)sizes[l]);
            torch::Tensor b = torch::empty({sizes[l + 1]}).uniform_(-bound, bound);
            net->w.push_back(w.set_requires_grad(true));
            net->b.push_back(b.set_requires_grad(true));
        }
        net->sizes[n_layers] = sizes[n_layers];
        return net.release();
    });
}

extern "C" void rls_tnet_destroy(struct rls_tnet **net)
{
    if (!net || !*net)
        return;
    delete *net;
    *net = NULL;
}

extern "C" int32_t rls_tnet_n_layers(const struct rls_tnet *net)
{
    return net ? net->n_layers : 0;
}

extern "C" const int32_t *rls_tnet_sizes(const struct rls_tnet *net)
{
    return net ? net->sizes : NULL;
}

extern "C" int64_t rls_tnet_n_params(const struct rls_tnet *net)
{
    int64_t n = 0;
    if (!net)
        return 0;
    for (int32_t l = 0; l < net->n_layers; l++)
        n += (int64_t)net->sizes[l + 1] * (net->sizes[l] + 1);
    return n;
}

extern "C" int rls_tnet_copy(struct rls_tnet *dst, const struct rls_tnet *src, double tau)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!dst || !src || dst->n_layers != src->n_layers)
            return s_fail(RLS_ERR_INVALID, "rls_tnet_copy: networks differ in layers");
        if (!(tau > 0.0 && tau <= 1.0))
            return s_fail(RLS_ERR_INVALID, "rls_tnet_copy: tau must be in (0, 1]");
        for (int32_t l = 0; l <= src->n_layers; l++)
            if (dst->sizes[l] != src->sizes[l])
                return s_fail(RLS_ERR_INVALID, "rls_tnet_copy: networks differ in sizes");
        torch::NoGradGuard no_grad;
        for (int32_t l = 0; l < src->n_layers; l++) {
            if (tau == 1.0) {
                dst->w[l].copy_(src->w[l]);
                dst->b[l].copy_(src->b[l]);
            } else {
                dst->w[l].mul_(1.0 - tau).add_(src->w[l], tau);
                dst->b[l].mul_(1.0 - tau).add_(src->b[l], tau);
            }
        }
        return RLS_OK;
    });
}

extern "C" int rls_tnet_get_layer(const struct rls_tnet *net, int32_t l, float *w, float *b)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!net || l < 0 || l >= net->n_layers || !w || !b)
            return s_fail(RLS_ERR_RANGE, "rls_tnet_get_layer: no layer " + std::to_string(l));
        torch::Tensor wc = net->w[l].detach().contiguous();
        torch::Tensor bc = net->b[l].detach().contiguous();
        memcpy(w, wc.data_ptr<float>(), sizeof(float) * (size_t)wc.numel());
        memcpy(b, bc.data_ptr<float>(), sizeof(float) * (size_t)bc.numel());
        return RLS_OK;
    });
}

extern "C" int rls_tnet_set_layer(struct rls_tnet *net, int32_t l, const float *w, const float *b)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!net || l < 0 || l >= net->n_layers || !w || !b)
            return s_fail(RLS_ERR_RANGE, "rls_tnet_set_layer: no layer " + std::to_string(l));
        int64_t nw = (int64_t)net->sizes[l + 1] * net->sizes[l], nb = net->sizes[l + 1];
        for (int64_t i = 0; i < nw; i++)
            if (!std::isfinite(w[i]))
                return s_fail(RLS_ERR_INVALID, "rls_tnet_set_layer: layer " + std::to_string(l) +
                                                   " weight " + std::to_string(i) + " is not finite");
        for (int64_t i = 0; i < nb; i++)
            if (!std::isfinite(b[i]))
                return s_fail(RLS_ERR_INVALID, "rls_tnet_set_layer: layer " + std::to_string(l) +
                                                   " bias " + std::to_string(i) + " is not finite");
        torch::NoGradGuard no_grad;
        net->w[l].copy_(torch::from_blob((void *)w, {net->sizes[l + 1], net->sizes[l]}));
        net->b[l].copy_(torch::from_blob((void *)b, {net->sizes[l + 1]}));
        return RLS_OK;
    });
}

extern "C" int rls_tnet_predict(struct rls_tnet *net, const float *x, int32_t batch, float *out)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!net || !x || !out || batch < 1)
            return s_fail(RLS_ERR_INVALID, "rls_tnet_predict: bad arguments");
        torch::NoGradGuard no_grad;
        torch::Tensor in = torch::from_blob((void *)x, {batch, net->sizes[0]});
        torch::Tensor y = s_forward(net, in).contiguous();
        memcpy(out, y.data_ptr<float>(), sizeof(float) * (size_t)y.numel());
        return RLS_OK;
    });
}

extern "C" int rls_tnet_act(struct rls_tnet *net, const struct rls_tact_rule *rule, const float *x,
                            const uint8_t *mask, int32_t batch, int32_t *action)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!rule || !x || !action || batch < 1)
            return s_fail(RLS_ERR_INVALID, "rls_tnet_act: bad arguments");
        int32_t A = rule->n_actions;
        int st = s_check_net(net, net ? net->sizes[0] : 0, A, rule->n_heads, "rls_tnet_act");
        if (st != RLS_OK)
            return st;
        torch::NoGradGuard no_grad;
        torch::Tensor in = torch::from_blob((void *)x, {batch, net->sizes[0]});
        torch::Tensor blocked = torch::zeros({batch, A}, torch::kBool);
        if (mask) {
            bool *p = blocked.data_ptr<bool>();
            for (int64_t i = 0; i < (int64_t)batch * A; i++)
                p[i] = mask[i] == 0;
        }
        torch::Tensor a = s_select(s_forward(net, in), blocked, A, rule->n_heads, rule->bcq_tau);
        const int64_t *pa = a.data_ptr<int64_t>();
        for (int32_t i = 0; i < batch; i++)
            action[i] = (int32_t)pa[i];
        return RLS_OK;
    });
}

extern "C" int rls_tnet_export_torchscript(const struct rls_tnet *net, const float *obs_mean,
                                           const float *obs_std, const struct rls_tact_rule *rule,
                                           const char *path)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!net || !obs_mean || !obs_std || !rule || !path)
            return s_fail(RLS_ERR_INVALID, "rls_tnet_export_torchscript: bad arguments");
        int32_t A = rule->n_actions, F = net->sizes[0];
        int st = s_check_net(net, F, A, rule->n_heads, "rls_tnet_export_torchscript");
        if (st != RLS_OK)
            return st;
        torch::NoGradGuard no_grad;
        torch::jit::Module m("RlschedPolicy");
        m.register_buffer("obs_mean", torch::from_blob((void *)obs_mean, {F}).clone());
        m.register_buffer("obs_std", torch::from_blob((void *)obs_std, {F}).clone());
        std::string src = "def forward(self, obs: Tensor) -> Tensor:\n"
                          "    x = (obs - self.obs_mean) / self.obs_std\n";
        for (int32_t l = 0; l < net->n_layers; l++) {
            std::string ls = std::to_string(l);
            m.register_buffer("w" + ls, net->w[l].detach().clone());
            m.register_buffer("b" + ls, net->b[l].detach().clone());
            src += "    x = torch.addmm(self.b" + ls + ", x, self.w" + ls + ".t())\n";
            if (l + 1 < net->n_layers)
                src += "    x = torch.relu(x)\n";
        }
        src += "    return x\n";
        char tail[1024];
        if (rule->n_heads == 2)
            snprintf(tail, sizeof tail,
                     "def act(self, obs: Tensor, mask: Tensor) -> Tensor:\n"
                     "    out = self.forward(obs)\n"
                     "    off = torch.eq(mask, 0)\n"
                     "    logits = out[:, %d:%d].masked_fill(off, %.1f)\n"
                     "    lp = torch.log_softmax(logits, 1)\n"
                     "    ratio = lp - torch.amax(lp, [1], True)\n"
                     "    off = torch.logical_or(off, ratio < %.17g)\n"
                     "    return out[:, 0:%d].masked_fill(off, %.1f).argmax(1)\n",
                     A, 2 * A, (double)RLS_TORCH_MASKED, std::log(rule->bcq_tau), A,
                     (double)RLS_TORCH_MASKED);
        else
            snprintf(tail, sizeof tail,
                     "def act(self, obs: Tensor, mask: Tensor) -> Tensor:\n"
                     "    out = self.forward(obs)\n"
                     "    off = torch.eq(mask, 0)\n"
                     "    return out[:, 0:%d].masked_fill(off, %.1f).argmax(1)\n",
                     A, (double)RLS_TORCH_MASKED);
        m.define(src);
        m.define(tail);
        std::string tmp = std::string(path) + ".tmp";
        try {
            m.save(tmp);
        } catch (const c10::Error &e) {
            std::string msg = e.what_without_backtrace();
            remove(tmp.c_str());
            return s_fail(RLS_ERR_IO, std::string(path) + ": cannot write: " + msg.substr(0, msg.find('\n')));
        }
        if (rename(tmp.c_str(), path) != 0) {
            remove(tmp.c_str());
            return s_fail(RLS_ERR_IO, std::string(path) + ": cannot rename " + tmp + ": " +
                                          strerror(errno));
        }
        return RLS_OK;
    });
}

// -------------------------------------------------------------------- optimizer

extern "C" struct rls_tadam_params rls_tadam_default_params(void)
{
    struct rls_tadam_params p;
    p.lr = 1e-3;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    p.weight_decay = 0.0;
    return p;
}

extern "C" struct rls_tadam *rls_tadam_new(struct rls_tnet *net, const struct rls_tadam_params *p)
{
    return s_guard_new<rls_tadam>([&]() -> rls_tadam * {
        if (!net || !p) {
            s_fail(RLS_ERR_INVALID, "rls_tadam_new: NULL argument");
            return NULL;
        }
        std::vector<torch::Tensor> params;
        for (int32_t l = 0; l < net->n_layers; l++) {
            params.push_back(net->w[l]);
            params.push_back(net->b[l]);
        }
        torch::optim::AdamOptions o(p->lr);
        o.betas(std::make_tuple(p->beta1, p->beta2)).eps(p->eps).weight_decay(p->weight_decay);
        std::unique_ptr<rls_tadam> opt(new rls_tadam());
        opt->adam.reset(new torch::optim::Adam(params, o));
        return opt.release();
    });
}

extern "C" void rls_tadam_destroy(struct rls_tadam **opt)
{
    if (!opt || !*opt)
        return;
    delete *opt;
    *opt = NULL;
}

extern "C" int rls_tadam_zero_grad(struct rls_tadam *opt)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!opt)
            return s_fail(RLS_ERR_INVALID, "rls_tadam_zero_grad: NULL optimizer");
        opt->adam->zero_grad();
        return RLS_OK;
    });
}

static std::string s_adam_key(const torch::Tensor &p);

// One Adam step of parameter p as one loop over its floats: the update of
// torch/optim/adam.cpp (no weight decay, no amsgrad) without its eight tensor
// operations per parameter (at batch 32, Adam was a fifth of the trainer's
// update time). The state stays in Adam's own map (rls_tadam_get/set_state
// see the same moments and steps). Built with -fno-math-errno so the square
// root vectorizes.
static void s_adam_fused(torch::optim::Adam &adam, const torch::Tensor &p, double lr, double b1,
                         double b2, double eps)
{
    auto &states = adam.state();
    std::string key = s_adam_key(p);
    auto it = states.find(key);
    if (it == states.end()) {
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
        it = states.emplace(key, std::move(st)).first;
    }
    auto &st = static_cast<torch::optim::AdamParamState &>(*it->second);
    st.step(st.step() + 1);
    const double bc1 = 1.0 - std::pow(b1, (double)st.step());
    const double bc2 = 1.0 - std::pow(b2, (double)st.step());
    const float fb1 = (float)b1, fb1c = (float)(1.0 - b1), fb2 = (float)b2, fb2c = (float)(1.0 - b2);
    const float inv_sbc2 = (float)(1.0 / std::sqrt(bc2)), feps = (float)eps;
    const float neg_step = (float)(-lr / bc1);
    float *__restrict w = p.data_ptr<float>();
    const float *__restrict g = p.grad().data_ptr<float>();
    float *__restrict m = st.exp_avg().data_ptr<float>();
    float *__restrict v = st.exp_avg_sq().data_ptr<float>();
    const int64_t n = p.numel();
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = m[i] * fb1 + fb1c * gi;
        float vi = v[i] * fb2 + fb2c * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] += neg_step * (mi / (std::sqrt(vi) * inv_sbc2 + feps));
    }
}

extern "C" int rls_tadam_step(struct rls_tadam *opt)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!opt)
            return s_fail(RLS_ERR_INVALID, "rls_tadam_step: NULL optimizer");
        torch::NoGradGuard no_grad;
        bool fused = true;   // float32, contiguous, no weight decay, no amsgrad
        for (auto &group : opt->adam->param_groups()) {
            auto &o = static_cast<torch::optim::AdamOptions &>(group.options());
            fused = fused && o.weight_decay() == 0.0 && !o.amsgrad();
            for (auto &p : group.params())
                fused = fused && (!p.grad().defined() ||
                                  (p.is_contiguous() && p.grad().is_contiguous() &&
                                   p.scalar_type() == torch::kFloat &&
                                   p.grad().scalar_type() == torch::kFloat));
        }
        if (!fused) {   // what the loop does not cover: libtorch's own step
            opt->adam->step();
            return RLS_OK;
        }
        for (auto &group : opt->adam->param_groups()) {
            auto &o = static_cast<torch::optim::AdamOptions &>(group.options());
            for (auto &p : group.params())
                if (p.grad().defined())
                    s_adam_fused(*opt->adam, p, o.lr(), std::get<0>(o.betas()),
                                 std::get<1>(o.betas()), o.eps());
        }
        return RLS_OK;
    });
}

// Adam's state map is keyed by the parameter's TensorImpl address as a string
// (torch/optim/adam.cpp); the parameter list is the one rls_tadam_new gave.
static std::string s_adam_key(const torch::Tensor &p)
{
    return c10::guts::to_string(p.unsafeGetTensorImpl());
}

static const torch::Tensor *s_adam_param(const rls_tadam *opt, int32_t i)
{
    if (!opt || !opt->adam || opt->adam->param_groups().empty())
        return NULL;
    const std::vector<torch::Tensor> &ps = opt->adam->param_groups()[0].params();
    if (i < 0 || (size_t)i >= ps.size())
        return NULL;
    return &ps[(size_t)i];
}

extern "C" int32_t rls_tadam_n_tensors(const struct rls_tadam *opt)
{
    if (!opt || !opt->adam || opt->adam->param_groups().empty())
        return 0;
    return (int32_t)opt->adam->param_groups()[0].params().size();
}

extern "C" int64_t rls_tadam_numel(const struct rls_tadam *opt, int32_t i)
{
    const torch::Tensor *p = s_adam_param(opt, i);
    return p ? (int64_t)p->numel() : 0;
}

extern "C" int rls_tadam_get_state(const struct rls_tadam *opt, int32_t i, float *exp_avg,
                                   float *exp_avg_sq, int64_t *step)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const torch::Tensor *p = s_adam_param(opt, i);
        if (!p || !exp_avg || !exp_avg_sq || !step)
            return s_fail(RLS_ERR_RANGE, "rls_tadam_get_state: no parameter " + std::to_string(i));
        size_t n = (size_t)p->numel();
        const auto &state = opt->adam->state();
        auto it = state.find(s_adam_key(*p));
        if (it == state.end()) {   // not stepped yet: what its first step starts from
            memset(exp_avg, 0, n * sizeof(float));
            memset(exp_avg_sq, 0, n * sizeof(float));
            *step = 0;
            return RLS_OK;
        }
        const auto &st = static_cast<const torch::optim::AdamParamState &>(*it->second);
        torch::Tensor m = st.exp_avg().detach().contiguous();
        torch::Tensor v = st.exp_avg_sq().detach().contiguous();
        if ((size_t)m.numel() != n || (size_t)v.numel() != n || m.scalar_type() != torch::kFloat ||
            v.scalar_type() != torch::kFloat)
            return s_fail(RLS_ERR_INVALID, "rls_tadam_get_state: parameter " + std::to_string(i) +
                                               ": moments do not match the parameter");
        memcpy(exp_avg, m.data_ptr<float>(), n * sizeof(float));
        memcpy(exp_avg_sq, v.data_ptr<float>(), n * sizeof(float));
        *step = st.step();
        return RLS_OK;
    });
}

extern "C" int rls_tadam_set_state(struct rls_tadam *opt, int32_t i, const float *exp_avg,
                                   const float *exp_avg_sq, int64_t step)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const torch::Tensor *p = s_adam_param(opt, i);
        std::string what = "rls_tadam_set_state: parameter " + std::to_string(i);
        if (!p || !exp_avg || !exp_avg_sq)
            return s_fail(RLS_ERR_RANGE, "rls_tadam_set_state: no parameter " + std::to_string(i));
        if (step < 0)
            return s_fail(RLS_ERR_RANGE, what + ": step " + std::to_string(step) + " < 0");
        int64_t n = p->numel();
        for (int64_t k = 0; k < n; k++) {
            if (!std::isfinite(exp_avg[k]))
                return s_fail(RLS_ERR_INVALID, what + ": exp_avg element " + std::to_string(k) +
                                                   " is not finite");
            if (!std::isfinite(exp_avg_sq[k]) || exp_avg_sq[k] < 0.0f)
                return s_fail(RLS_ERR_INVALID, what + ": exp_avg_sq element " + std::to_string(k) +
                                                   " is not finite and >= 0");
        }
        torch::NoGradGuard no_grad;
        // copies in the parameter's own shape and memory format, as Adam's
        // zeros_like(p, Preserve) would have made them
        torch::Tensor m = torch::empty_like(*p, at::MemoryFormat::Preserve);
        torch::Tensor v = torch::empty_like(*p, at::MemoryFormat::Preserve);
        m.copy_(torch::from_blob((void *)exp_avg, p->sizes()));
        v.copy_(torch::from_blob((void *)exp_avg_sq, p->sizes()));
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(step);
        st->exp_avg(m);
        st->exp_avg_sq(v);
        opt->adam->state()[s_adam_key(*p)] = std::move(st);
        return RLS_OK;
    });
}

// ---------------------------------------------------------------------- batches

extern "C" struct rls_tbatch *rls_tbatch_new(int32_t n, int32_t n_features, int32_t n_actions)
{
    return s_guard_new<rls_tbatch>([&]() -> rls_tbatch * {
        if (n < 1 || n_features < 1 || n_actions < 1) {
            s_fail(RLS_ERR_INVALID, "rls_tbatch_new: sizes must be >= 1");
            return NULL;
        }
        std::unique_ptr<rls_tbatch> b(new rls_tbatch());
        b->cap = n;
        b->F = n_features;
        b->A = n_actions;
        b->obs = torch::zeros({n, n_features});
        b->next_obs = torch::zeros({n, n_features});
        b->action = torch::zeros({n}, torch::kInt64);
        b->reward = torch::zeros({n});
        b->notdone = torch::ones({n});
        b->blocked = torch::zeros({n, n_actions}, torch::kBool);
        b->next_blocked = torch::zeros({n, n_actions}, torch::kBool);
        return b.release();
    });
}

extern "C" void rls_tbatch_destroy(struct rls_tbatch **b)
{
    if (!b || !*b)
        return;
    delete *b;
    *b = NULL;
}

extern "C" int rls_tbatch_set(struct rls_tbatch *b, int32_t n, const float *obs,
                              const int32_t *action, const float *reward, const float *next_obs,
                              const uint8_t *done, const uint8_t *mask, const uint8_t *next_mask)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!b || !obs || !action || !reward || !next_obs || !done)
            return s_fail(RLS_ERR_INVALID, "rls_tbatch_set: NULL argument");
        if (n < 1 || n > b->cap)
            return s_fail(RLS_ERR_RANGE, "rls_tbatch_set: " + std::to_string(n) +
                                             " rows for a batch of " + std::to_string(b->cap));
        int64_t *pa = b->action.data_ptr<int64_t>();
        float *pnd = b->notdone.data_ptr<float>();
        bool *pm = b->blocked.data_ptr<bool>(), *pnm = b->next_blocked.data_ptr<bool>();
        for (int32_t i = 0; i < n; i++) {
            if (action[i] < 0 || action[i] >= b->A)
                return s_fail(RLS_ERR_RANGE, "rls_tbatch_set: row " + std::to_string(i) +
                                                 ": action " + std::to_string(action[i]) +
                                                 " outside [0, " + std::to_string(b->A) + ")");
            pa[i] = action[i];
            pnd[i] = done[i] ? 0.0f : 1.0f;
        }
        size_t nf = (size_t)n * (size_t)b->F, na = (size_t)n * (size_t)b->A;
        memcpy(b->obs.data_ptr<float>(), obs, nf * sizeof(float));
        memcpy(b->next_obs.data_ptr<float>(), next_obs, nf * sizeof(float));
        memcpy(b->reward.data_ptr<float>(), reward, (size_t)n * sizeof(float));
        for (size_t i = 0; i < na; i++) {
            pm[i] = mask ? mask[i] == 0 : false;
            pnm[i] = next_mask ? next_mask[i] == 0 : false;
        }
        b->n = n;
        return RLS_OK;
    });
}

// --------------------------------------------------------------- forward + loss

extern "C" struct rls_tgraph *rls_tgraph_new(void)
{
    try {
        return new rls_tgraph();
    } catch (...) {
        s_errmsg = "rls_tgraph_new: out of memory";
    }
    return NULL;
}

extern "C" void rls_tgraph_destroy(struct rls_tgraph **g)
{
    if (!g || !*g)
        return;
    delete *g;
    *g = NULL;
}

extern "C" int rls_tgraph_backward(struct rls_tgraph *g)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        if (!g || !g->loss.defined())
            return s_fail(RLS_ERR_STATE, "rls_tgraph_backward: no forward pass to backpropagate");
        torch::Tensor loss = g->loss;
        g->loss = torch::Tensor();
        loss.backward();
        return RLS_OK;
    });
}

static int s_check_batch(const rls_tbatch *b, const char *what)
{
    if (!b || b->n < 1)
        return s_fail(RLS_ERR_INVALID, std::string(what) + ": empty batch (rls_tbatch_set first)");
    return RLS_OK;
}

extern "C" int rls_torch_q_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                                   const struct rls_tbatch *b, const struct rls_tq_params *hp,
                                   struct rls_tstats *st)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const char *what = "rls_torch_q_forward";
        int s = RLS_OK;
        if (!g || !hp)
            return s_fail(RLS_ERR_INVALID, "rls_torch_q_forward: NULL argument");
        if ((s = s_check_batch(b, what)) != RLS_OK)
            return s;
        int32_t heads = hp->bcq ? 2 : 1, A = b->A;
        if ((s = s_check_net(q, b->F, A, heads, what)) != RLS_OK ||
            (s = s_check_net(q_target, b->F, A, heads, what)) != RLS_OK)
            return s;
        s_rows r = s_view(b);
        torch::Tensor act = r.action.unsqueeze(1);                        // (B, 1)
        // forward: Q(s) (B, A*heads), Q(s, a) (B)
        torch::Tensor out = s_forward(q, r.obs);
        torch::Tensor q_s = heads == 2 ? out.narrow(1, 0, A) : out;
        torch::Tensor q_sa = q_s.gather(1, act).squeeze(1);
        // target: y = r + gamma (1 - done) Q_target(s', argmax_allowed Q(s', .))  (B)
        torch::Tensor y;
        {
            torch::NoGradGuard no_grad;
            torch::Tensor a_next = s_select(s_forward(q, r.next_obs), r.next_blocked, A, heads,
                                            hp->bcq_tau).unsqueeze(1);
            torch::Tensor v_next = s_forward(q_target, r.next_obs).narrow(1, 0, A).gather(1, a_next).squeeze(1);
            y = r.reward + hp->gamma * r.notdone * v_next;
        }
        // loss: TD + alpha * CQL + BCQ imitation
        torch::Tensor td = hp->huber ? torch::smooth_l1_loss(q_sa, y) : torch::mse_loss(q_sa, y);
        torch::Tensor loss = td;
        torch::Tensor reg;
        if (hp->cql_alpha > 0.0) {
            torch::Tensor lse = q_s.masked_fill(r.blocked, RLS_TORCH_MASKED).logsumexp(1);
            reg = (lse - q_sa).mean();
            loss = loss + hp->cql_alpha * reg;
        }
        torch::Tensor acc;
        if (heads == 2) {
            torch::Tensor logits = out.narrow(1, A, A);
            torch::Tensor lp = torch::log_softmax(logits.masked_fill(r.blocked, RLS_TORCH_MASKED), 1);
            torch::Tensor imit = torch::nll_loss(lp, r.action) + hp->bcq_beta * logits.pow(2).mean();
            loss = loss + imit;
            reg = reg.defined() ? reg + imit : imit;
            if (st)
                acc = (lp.argmax(1) == r.action).to(torch::kFloat).mean();
        }
        g->loss = loss;
        if (st) {
            st->loss = loss.item<double>();
            st->td_loss = td.item<double>();
            st->reg_loss = reg.defined() ? reg.item<double>() : 0.0;
            st->mean_q = q_sa.mean().item<double>();
            st->accuracy = acc.defined() ? acc.item<double>() : NAN;
        }
        return RLS_OK;
    });
}

extern "C" int rls_torch_bc_forward(struct rls_tgraph *g, struct rls_tnet *pi, const struct rls_tbatch *b,
                                    double beta, struct rls_tstats *st)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const char *what = "rls_torch_bc_forward";
        int s = RLS_OK;
        if (!g)
            return s_fail(RLS_ERR_INVALID, "rls_torch_bc_forward: NULL graph");
        if ((s = s_check_batch(b, what)) != RLS_OK || (s = s_check_net(pi, b->F, b->A, 1, what)) != RLS_OK)
            return s;
        s_rows r = s_view(b);
        // forward: logits (B, A), log pi over allowed actions (B, A)
        torch::Tensor logits = s_forward(pi, r.obs);
        torch::Tensor lp = torch::log_softmax(logits.masked_fill(r.blocked, RLS_TORCH_MASKED), 1);
        // loss: cross-entropy + beta * mean(logits^2)
        torch::Tensor ce = torch::nll_loss(lp, r.action);
        torch::Tensor pen = beta * logits.pow(2).mean();
        torch::Tensor loss = ce + pen;
        g->loss = loss;
        if (st) {
            st->loss = loss.item<double>();
            st->td_loss = 0.0;
            st->reg_loss = ce.item<double>();
            st->mean_q = NAN;
            st->accuracy = (lp.argmax(1) == r.action).to(torch::kFloat).mean().item<double>();
        }
        return RLS_OK;
    });
}

extern "C" int rls_torch_iql_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                                     struct rls_tnet *v, struct rls_tnet *pi, const struct rls_tbatch *b,
                                     const struct rls_tiql_params *hp, struct rls_tstats *st)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const char *what = "rls_torch_iql_forward";
        int s = RLS_OK;
        if (!g || !hp)
            return s_fail(RLS_ERR_INVALID, "rls_torch_iql_forward: NULL argument");
        if ((s = s_check_batch(b, what)) != RLS_OK || (s = s_check_net(q, b->F, b->A, 1, what)) != RLS_OK ||
            (s = s_check_net(q_target, b->F, b->A, 1, what)) != RLS_OK ||
            (s = s_check_net(v, b->F, 1, 1, what)) != RLS_OK ||
            (s = s_check_net(pi, b->F, b->A, 1, what)) != RLS_OK)
            return s;
        s_rows r = s_view(b);
        torch::Tensor act = r.action.unsqueeze(1);
        // targets (no gradient): Q_target(s, a) (B), y = r + gamma (1 - done) V(s') (B)
        torch::Tensor qt_sa, y;
        {
            torch::NoGradGuard no_grad;
            qt_sa = s_forward(q_target, r.obs).gather(1, act).squeeze(1);
            y = r.reward + hp->gamma * r.notdone * s_forward(v, r.next_obs).squeeze(1);
        }
        // value: expectile regression of V(s) on Q_target(s, a)
        torch::Tensor v_s = s_forward(v, r.obs).squeeze(1);
        torch::Tensor diff = qt_sa - v_s;
        torch::Tensor wexp = torch::abs(hp->expectile - (diff < 0).to(torch::kFloat));
        torch::Tensor v_loss = (wexp * diff.pow(2)).mean();
        // critic: MSE of Q(s, a) on y
        torch::Tensor q_sa = s_forward(q, r.obs).gather(1, act).squeeze(1);
        torch::Tensor q_loss = torch::mse_loss(q_sa, y);
        // actor: advantage-weighted log-likelihood over allowed actions
        torch::Tensor weight = torch::exp(hp->temperature * diff.detach()).clamp_max(hp->max_weight);
        torch::Tensor lp = torch::log_softmax(s_forward(pi, r.obs).masked_fill(r.blocked, RLS_TORCH_MASKED), 1);
        torch::Tensor actor = -(weight * lp.gather(1, act).squeeze(1)).mean();
        torch::Tensor loss = q_loss + v_loss + actor;
        g->loss = loss;
        if (st) {
            st->loss = loss.item<double>();
            st->td_loss = (q_loss + v_loss).item<double>();
            st->reg_loss = actor.item<double>();
            st->mean_q = q_sa.mean().item<double>();
            st->accuracy = (lp.argmax(1) == r.action).to(torch::kFloat).mean().item<double>();
        }
        return RLS_OK;
    });
}

extern "C" int rls_torch_fqe_forward(struct rls_tgraph *g, struct rls_tnet *q, struct rls_tnet *q_target,
                                     struct rls_tnet *policy, const struct rls_tact_rule *rule,
                                     const struct rls_tbatch *b, double gamma, struct rls_tstats *st)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const char *what = "rls_torch_fqe_forward";
        int s = RLS_OK;
        if (!g || !rule)
            return s_fail(RLS_ERR_INVALID, "rls_torch_fqe_forward: NULL argument");
        if ((s = s_check_batch(b, what)) != RLS_OK || (s = s_check_net(q, b->F, b->A, 1, what)) != RLS_OK ||
            (s = s_check_net(q_target, b->F, b->A, 1, what)) != RLS_OK ||
            (s = s_check_net(policy, b->F, b->A, rule->n_heads, what)) != RLS_OK)
            return s;
        s_rows r = s_view(b);
        torch::Tensor y;
        {
            torch::NoGradGuard no_grad;
            torch::Tensor a_next = s_select(s_forward(policy, r.next_obs), r.next_blocked, b->A,
                                            rule->n_heads, rule->bcq_tau).unsqueeze(1);
            y = r.reward + gamma * r.notdone * s_forward(q_target, r.next_obs).gather(1, a_next).squeeze(1);
        }
        torch::Tensor q_sa = s_forward(q, r.obs).gather(1, r.action.unsqueeze(1)).squeeze(1);
        torch::Tensor loss = torch::mse_loss(q_sa, y);
        g->loss = loss;
        if (st) {
            st->loss = loss.item<double>();
            st->td_loss = st->loss;
            st->reg_loss = 0.0;
            st->mean_q = q_sa.mean().item<double>();
            st->accuracy = NAN;
        }
        return RLS_OK;
    });
}

extern "C" int rls_torch_fqe_value(struct rls_tnet *q, struct rls_tnet *policy,
                                   const struct rls_tact_rule *rule, const struct rls_tbatch *b,
                                   double *value)
{
    return s_guard(RLS_ERR_EXTERNAL, [&]() -> int {
        const char *what = "rls_torch_fqe_value";
        int s = RLS_OK;
        if (!rule || !value)
            return s_fail(RLS_ERR_INVALID, "rls_torch_fqe_value: NULL argument");
        if ((s = s_check_batch(b, what)) != RLS_OK || (s = s_check_net(q, b->F, b->A, 1, what)) != RLS_OK ||
            (s = s_check_net(policy, b->F, b->A, rule->n_heads, what)) != RLS_OK)
            return s;
        torch::NoGradGuard no_grad;
        s_rows r = s_view(b);
        torch::Tensor a = s_select(s_forward(policy, r.obs), r.blocked, b->A, rule->n_heads,
                                   rule->bcq_tau).unsqueeze(1);
        *value = s_forward(q, r.obs).gather(1, a).mean().item<double>();
        return RLS_OK;
    });
}
