// bench.cpp: lispetorchc's model.so against libtorch 1.13 eager and OpenBLAS,
// measured side by side in one process (these machines are shared and
// noisy: compare ratios, not absolute times).
//
//   ltc_bench layer MODEL.so WEIGHTS B S E H F THREADS
//   ltc_bench gemm  MODEL.so WEIGHTS M K N THREADS
//   ltc_bench attn  ltc|torch MODEL.so S THREADS      (one implementation per
//                                                       process, for peak memory)
//
// Each prints one line of `key=value` pairs that bench/run.sh turns into
// the table of docs/performance.md.  Times are medians of repeated runs
// after warm-up, the two sides timed in alternating rounds; both use the
// same thread count.
#include <torch/torch.h>

#include <cblas.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "lispetorchc/runtime.h"
#include "oracle_st.h"

using torch::Tensor;

static double now_ms() {
    return std::chrono::duration<double, std::milli>(
        std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median time of fn over enough repetitions to fill ~min_ms (at least 3).
static double time_ms(const std::function<void()> &fn, double min_ms = 1500) {
    fn(); fn();                                  // warm-up
    std::vector<double> t;
    double start = now_ms();
    while (t.size() < 3 || (now_ms() - start < min_ms && t.size() < 50)) {
        double a = now_ms(); fn(); t.push_back(now_ms() - a);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Two implementations timed in alternating rounds, with a pause between
// them so that neither runs while the other's idle threads still spin
// (OpenBLAS workers busy-wait a while after each call): medians of each.
static void time_pair(const std::function<void()> &a, const std::function<void()> &b, double *ta, double *tb,
                      int rounds = 6, int per_round = 3) {
    // Warm up, and size the rounds so that each lasts >= ~60 ms: small
    // calls need many back-to-back repetitions to be measured as a serving
    // loop sees them.
    double t0 = now_ms();
    a(); a();
    double est_a = (now_ms() - t0) / 2;
    t0 = now_ms();
    b(); b();
    double est_b = (now_ms() - t0) / 2;
    int reps = std::max(per_round, (int)(60.0 / std::max(1e-3, std::min(est_a, est_b))));
    reps = std::min(reps, 2000);
    std::vector<double> va, vb;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            const std::function<void()> &f = (r + k) % 2 ? b : a;
            std::vector<double> &v = (r + k) % 2 ? vb : va;
            usleep(100000);
            f(); f();                             // re-warm after the pause
            double s0 = now_ms();
            for (int i = 0; i < reps; i++) f();
            v.push_back((now_ms() - s0) / reps);  // mean of a round; median over rounds
        }
    }
    std::sort(va.begin(), va.end());
    std::sort(vb.begin(), vb.end());
    *ta = va[va.size() / 2];
    *tb = vb[vb.size() / 2];
}

static long peak_rss_kb() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

[[noreturn]] static void die(const std::string &m) {
    fprintf(stderr, "ltc_bench: %s\n", m.c_str());
    exit(1);
}

static ltc_model *open_model(const char *so, const char *weights, int threads) {
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    if (!m) die(std::string(so) + ": " + err.message);
    if (weights && ltc_model_bind_weights_file(m, weights) != 0)
        die(std::string(weights) + ": " + ltc_last_error(m)->message);
    ltc_set_num_threads(m, threads);
    return m;
}

static DLTensor dl_of(const Tensor &t) {
    DLTensor d;
    memset(&d, 0, sizeof d);
    d.data = t.data_ptr();
    d.device.device_type = kDLCPU;
    d.ndim = (int)t.dim();
    d.dtype = ltc_dtype_to_dl(LTC_F32);
    d.shape = const_cast<int64_t *>(t.sizes().data());
    d.strides = nullptr;
    return d;
}

static void run_model(ltc_model *m, const std::vector<Tensor> &in, Tensor &out) {
    std::vector<DLTensor> din;
    for (auto &t : in) din.push_back(dl_of(t));
    DLTensor dout = dl_of(out);
    if (ltc_model_run(m, nullptr, din.data(), (int)din.size(), &dout, 1) != 0)
        die(std::string("run: ") + ltc_last_error(m)->message);
}

struct Weights {
    StData st;
    Tensor operator()(const std::string &n) const {
        auto it = st.tensors.find(n);
        if (it == st.tensors.end()) die("weights: missing " + n);
        const StEntry &e = it->second;
        if (e.dtype != "F32") die("weights: " + n + " is not F32");
        return torch::from_blob((void *)e.data, e.shape, torch::kFloat).clone();
    }
};

static Weights load_weights(const char *path) {
    Weights w;
    std::string err;
    if (!st_load(path, w.st, err)) die(std::string(path) + ": " + err);
    return w;
}

static double rel_err(const Tensor &got, const Tensor &ref) {
    double scale = ref.abs().max().item<double>();
    return (got - ref).abs().max().item<double>() / (scale > 0 ? scale : 1);
}

// The seed layer in libtorch 1.13 eager, as lispe_torch runs it there (no
// SDPA in 1.13: matmul, softmax, matmul).
static Tensor torch_layer(const Weights &w, const Tensor &x, int64_t H) {
    auto lin = [&](const Tensor &t, const std::string &p) {
        return torch::linear(t, w(p + ".weight"), w(p + ".bias"));
    };
    int64_t B = x.size(0), S = x.size(1), E = x.size(2), D = E / H;
    auto heads = [&](const Tensor &t) { return t.view({B, S, H, D}).transpose(1, 2); };
    Tensor q = heads(lin(x, "layer.attention.q_proj"));
    Tensor k = heads(lin(x, "layer.attention.k_proj"));
    Tensor v = heads(lin(x, "layer.attention.v_proj"));
    Tensor a = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt((double)D), -1);
    Tensor o = torch::matmul(a, v).transpose(1, 2).contiguous().view({B, S, E});
    o = lin(o, "layer.attention.out_proj");
    Tensor x1 = torch::layer_norm(x + o, {E}, w("layer.norm1.weight"), w("layer.norm1.bias"), 1e-5);
    Tensor f = lin(torch::relu(lin(x1, "layer.ffn1")), "layer.ffn2");
    return torch::layer_norm(x1 + f, {E}, w("layer.norm2.weight"), w("layer.norm2.bias"), 1e-5);
}

static int bench_layer(char **a) {
    const char *so = a[0], *wpath = a[1];
    int64_t B = atol(a[2]), S = atol(a[3]), E = atol(a[4]), H = atol(a[5]), F = atol(a[6]);
    int threads = atoi(a[7]);
    torch::set_num_threads(threads);
    torch::NoGradGuard ng;
    Weights w = load_weights(wpath);
    ltc_model *m = open_model(so, wpath, threads);
    torch::manual_seed(0);
    Tensor x = torch::rand({B, S, E});
    Tensor y = torch::empty({B, S, E});
    Tensor ref;
    double t_torch, t_ltc;
    time_pair([&] { ref = torch_layer(w, x, H); }, [&] { run_model(m, {x}, y); }, &t_torch, &t_ltc);
    double err = rel_err(y, ref);
    double flops = 2.0 * B * S * (4.0 * E * E + 2.0 * E * F) + 4.0 * B * S * S * E;
    printf("kind=layer shape=B%ld_S%ld_E%ld_H%ld_F%ld threads=%d torch_ms=%.3f ltc_ms=%.3f speedup=%.2f "
           "ltc_gflops=%.1f rel_err=%.2e\n", (long)B, (long)S, (long)E, (long)H, (long)F, threads,
           t_torch, t_ltc, t_torch / t_ltc, flops / t_ltc / 1e6, err);
    ltc_model_close(m);
    return err <= 1e-4 ? 0 : 1;
}

static int bench_gemm(char **a) {
    const char *so = a[0], *wpath = a[1];
    int64_t M = atol(a[2]), K = atol(a[3]), N = atol(a[4]);
    int threads = atoi(a[5]);
    openblas_set_num_threads(threads);
    torch::NoGradGuard ng;
    Weights w = load_weights(wpath);
    Tensor W = w("lin.weight");                  // [N, K]
    ltc_model *m = open_model(so, wpath, threads);
    Tensor x = torch::rand({1, M, K});
    Tensor y = torch::empty({1, M, N}), ref = torch::empty({M, N});
    double t_blas, t_ltc;
    time_pair([&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f,
                    x.data_ptr<float>(), (int)K, W.data_ptr<float>(), (int)K, 0.0f,
                    ref.data_ptr<float>(), (int)N);
    }, [&] { run_model(m, {x}, y); }, &t_blas, &t_ltc, 6, 5);
    double flops = 2.0 * M * N * K;
    double err = rel_err(y.view({M, N}), ref);
    printf("kind=gemm shape=M%ld_K%ld_N%ld threads=%d blas_gflops=%.1f ltc_gflops=%.1f ratio=%.2f rel_err=%.2e\n",
           (long)M, (long)K, (long)N, threads, flops / t_blas / 1e6, flops / t_ltc / 1e6, t_blas / t_ltc, err);
    ltc_model_close(m);
    return err <= 1e-4 ? 0 : 1;
}

// Attention alone, one implementation per process so that the peak RSS
// above the inputs is that implementation's working memory.
static int bench_attn(char **a) {
    std::string impl = a[0];
    const char *so = a[1];
    int64_t S = atol(a[2]);
    int threads = atoi(a[3]);
    torch::set_num_threads(threads);
    torch::NoGradGuard ng;
    int64_t B = 1, H = 8, D = 64;
    Tensor q = torch::rand({B, H, S, D}), k = torch::rand({B, H, S, D}), v = torch::rand({B, H, S, D});
    Tensor y = torch::empty({B, H, S, D});
    ltc_model *m = impl == "ltc" ? open_model(so, nullptr, threads) : nullptr;
    long base = peak_rss_kb();
    double min_ms = S >= 8192 ? 1 : 1000;        // the big cases run only the warm-up + 3
    double t;
    if (impl == "ltc") {
        t = time_ms([&] { run_model(m, {q, k, v}, y); }, min_ms);
    } else {
        t = time_ms([&] {
            Tensor s = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt((double)D);
            y = torch::matmul(torch::softmax(s, -1), v);
        }, min_ms);
    }
    long extra = peak_rss_kb() - base;
    printf("kind=attn impl=%s S=%ld threads=%d ms=%.3f peak_extra_mb=%.1f\n", impl.c_str(), (long)S, threads, t,
           extra / 1024.0);
    if (m) ltc_model_close(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: ltc_bench layer|gemm|attn ...");
    std::string kind = argv[1];
    if (kind == "layer" && argc == 10) return bench_layer(argv + 2);
    if (kind == "gemm" && argc == 8) return bench_gemm(argv + 2);
    if (kind == "attn" && argc == 6) return bench_attn(argv + 2);
    die("bad arguments; see the comment at the top of bench/bench.cpp");
}
