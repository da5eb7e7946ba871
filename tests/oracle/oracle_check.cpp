// oracle_check.cpp: rebuilds a case's computation in libtorch 1.13 from the
// tensors that `lispetorchc run CASE.lsp --save-tensors FILE --seed 1`
// saved (inputs, parameters by path, outputs), and compares.
//
//   oracle_check CASE FILE.safetensors [key=value ...]
//
// The reference runs in float64 from the saved float32 weights, so the
// measured error is the implementation's alone.  An output passes when
//   max |got - ref| / max |ref| <= tol        (tol = 1e-5 unless tol=...)
// and its shape matches; both numbers are printed.  Exit 0 iff all pass.
//
// Compiled mode: with so=MODEL.so (made by `lispetorchc CASE.lsp -o MODEL.so`)
// and entry_out=NAME[:NAME...], the model is opened with the runtime, its
// parameters are bound from FILE (the same values the interpreter used),
// its inputs are taken from FILE by name, and its outputs replace the saved
// tensors NAME... before the case's checks run: the compiled kernels are
// then what is compared with libtorch.  entry=NAME picks the entry;
// weights=W.safetensors binds another file (the compiler's --save-weights,
// whose names are the entry's parameter paths; same seed, same values).
//
// This is the only file of the project that includes <torch/torch.h>
// (about 16 s and 1.1 GB to compile): every case lives here.
//
// Layout facts the references rely on (docs: shared/reference/lispe.md):
//  - Linear weight [out,in], y = x W^T + b; LayerNorm eps 1e-5 (biased var);
//  - flash attention: q/k/v/out_proj linears, heads by view(B,S,H,Dh) +
//    transpose(1,2), softmax(q k^T / sqrt(Dh)) v, merge, out_proj;
//  - SDPA masks: bool keeps true positions, float is added; causal keeps
//    j <= i (top-left aligned);
//  - MultiheadAttention and the transformer block are sequence-first.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "lispetorchc/runtime.h"
#include "oracle_st.h"

using torch::Tensor;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

struct Ctx {
    StData st;
    std::map<std::string, std::string> opt;
    double tol = 1e-5;
    int failures = 0, checked = 0;

    std::map<std::string, Tensor> replaced;     // compiled outputs (and vary=1 inputs)

    bool has(const std::string &n) const { return st.tensors.count(n) != 0 || replaced.count(n) != 0; }

    // The tensor `n` as stored (floats widened to float64, i64 and bool kept).
    Tensor T(const std::string &n) const {
        auto r = replaced.find(n);
        if (r != replaced.end()) return r->second;
        auto it = st.tensors.find(n);
        if (it == st.tensors.end()) {
            std::string msg = "missing tensor '" + n + "'; the file holds:";
            int k = 0;
            for (auto &kv : st.tensors) {
                if (k++ == 60) { msg += " ..."; break; }
                msg += " " + kv.first;
            }
            throw std::runtime_error(msg);
        }
        const StEntry &e = it->second;
        torch::ScalarType t;
        if (e.dtype == "F32") t = torch::kFloat;
        else if (e.dtype == "F16") t = torch::kHalf;
        else if (e.dtype == "BF16") t = torch::kBFloat16;
        else if (e.dtype == "F64") t = torch::kDouble;
        else if (e.dtype == "I64") t = torch::kLong;
        else if (e.dtype == "BOOL") t = torch::kBool;
        else throw std::runtime_error(n + ": unsupported dtype " + e.dtype);
        // from_blob does not copy: clone so the tensor owns aligned memory.
        Tensor x = torch::from_blob((void *)e.data, e.shape, torch::TensorOptions().dtype(t)).clone();
        if (x.is_floating_point()) x = x.to(torch::kDouble);
        return x;
    }

    std::string S(const std::string &k, const std::string &dflt) const {
        auto it = opt.find(k);
        return it == opt.end() ? dflt : it->second;
    }
    // An integer option; without key=value on the command line, a saved
    // one-element tensor cfg_<key> (sizes a script drew at random).
    int64_t I(const std::string &k, int64_t dflt) const {
        auto it = opt.find(k);
        if (it != opt.end()) return std::atoll(it->second.c_str());
        if (has("cfg_" + k)) return T("cfg_" + k).flatten()[0].item<int64_t>();
        return dflt;
    }
    double D(const std::string &k, double dflt) const {
        auto it = opt.find(k);
        return it == opt.end() ? dflt : std::atof(it->second.c_str());
    }

    // Compare got (as saved) with ref (float64); print one line.
    void check(const std::string &what, const Tensor &got_in, const Tensor &ref) {
        checked++;
        Tensor got = got_in.to(torch::kDouble);
        std::string gs = shape_str(got), rs = shape_str(ref);
        if (got.sizes() != ref.sizes()) {
            std::printf("  %-28s FAIL shape %s, expected %s\n", what.c_str(), gs.c_str(), rs.c_str());
            failures++;
            return;
        }
        bool nan_got = got.isnan().any().item<bool>();
        bool nan_ref = ref.isnan().any().item<bool>();
        double err = (got - ref).abs().max().item<double>();
        double mag = ref.abs().max().item<double>();
        double rel = err / (mag > 0 ? mag : 1.0);
        bool ok = !nan_got && !nan_ref && rel <= tol;
        std::printf("  %-28s %s shape %s max_abs_err=%.3e max_abs_ref=%.3e rel=%.3e (tol %.0e)%s\n",
                    what.c_str(), ok ? "PASS" : "FAIL", gs.c_str(), err, mag, rel, tol,
                    nan_got ? " [NaN in output]" : nan_ref ? " [NaN in reference]" : "");
        if (!ok) {
            failures++;
            // Where it diverges first helps the person fixing it.
            Tensor d = (got - ref).abs().flatten();
            int64_t i = d.argmax().item<int64_t>();
            std::printf("    worst element flat index %lld: got %.9g, expected %.9g\n", (long long)i,
                        got.flatten()[i].item<double>(), ref.flatten()[i].item<double>());
        }
    }

    static std::string shape_str(const Tensor &t) {
        std::string s = "[";
        for (int64_t i = 0; i < t.dim(); i++) s += (i ? "," : "") + std::to_string(t.size(i));
        return s + "]";
    }
};

// ---- building blocks (float64) ----------------------------------------------

// y = x W^T (+ b); the bias is used when the file holds one.
Tensor lin(const Ctx &c, const std::string &p, const Tensor &x) {
    Tensor W = c.T(p + ".weight");
    if (c.has(p + ".bias")) return torch::linear(x, W, c.T(p + ".bias"));
    return torch::linear(x, W);
}

// LayerNorm over the last dim: (x - mean) / sqrt(var_biased + eps) * w + b.
Tensor layer_norm(const Ctx &c, const std::string &p, const Tensor &x, double eps = 1e-5) {
    Tensor w = c.has(p + ".weight") ? c.T(p + ".weight") : Tensor();
    Tensor b = c.has(p + ".bias") ? c.T(p + ".bias") : Tensor();
    return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
}

// RMSNorm: x * rsqrt(mean(x^2, -1) + eps) * w.
Tensor rms_norm(const Tensor &x, const Tensor &w, double eps) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

// softmax(q k^T * scale [+ mask]) v over [.., Sq, D] x [.., Sk, D].
Tensor attend(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor &mask, bool causal,
              double scale) {
    Tensor s = torch::matmul(q, k.transpose(-2, -1)) * scale;
    int64_t Sq = s.size(-2), Sk = s.size(-1);
    if (causal) {
        Tensor keep = torch::ones({Sq, Sk}, torch::kDouble).tril() > 0.5;   // j <= i
        s = s.masked_fill(keep.logical_not(), -kInf);
    }
    if (mask.defined()) {
        if (mask.scalar_type() == torch::kBool) s = s.masked_fill(mask.logical_not(), -kInf);
        else s = s + mask.to(torch::kDouble);
    }
    return torch::matmul(torch::softmax(s, -1), v);
}

// [B,S,E] -> [B,H,S,E/H] and back.
Tensor split_heads(const Tensor &x, int64_t H) {
    return x.reshape({x.size(0), x.size(1), H, x.size(2) / H}).transpose(1, 2);
}
Tensor merge_heads(const Tensor &x) {
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// lispe_torch's FlashAttention::forward on batch-first [B,S,E].
Tensor flash_attention(const Ctx &c, const std::string &p, const Tensor &q_in, const Tensor &k_in,
                       const Tensor &v_in, int64_t H, const Tensor &mask = Tensor()) {
    Tensor q = split_heads(lin(c, p + ".q_proj", q_in), H);
    Tensor k = split_heads(lin(c, p + ".k_proj", k_in), H);
    Tensor v = split_heads(lin(c, p + ".v_proj", v_in), H);
    double scale = 1.0 / std::sqrt((double)q.size(-1));
    return lin(c, p + ".out_proj", merge_heads(attend(q, k, v, mask, false, scale)));
}

// libtorch's own MultiheadAttention (sequence-first), weights from the file.
Tensor mha_forward(const Ctx &c, const std::string &p, const Tensor &q, const Tensor &k,
                   const Tensor &v, int64_t H) {
    int64_t E = q.size(-1);
    torch::nn::MultiheadAttention m(torch::nn::MultiheadAttentionOptions(E, H));
    m->to(torch::kDouble);
    m->eval();
    {
        torch::NoGradGuard ng;
        m->in_proj_weight.copy_(c.T(p + ".in_proj_weight"));
        m->in_proj_bias.copy_(c.T(p + ".in_proj_bias"));
        m->out_proj->weight.copy_(c.T(p + ".out_proj.weight"));
        m->out_proj->bias.copy_(c.T(p + ".out_proj.bias"));
    }
    torch::NoGradGuard ng;
    return std::get<0>(m->forward(q, k, v));
}

// Rotary tables for positions 0..S-1 (NeoX / HF Llama "rotate_half"):
// inv_freq_i = 1/10000^(2i/dim), freqs = t (x) inv_freq, emb = cat(freqs, freqs).
std::pair<Tensor, Tensor> rope_tables(int64_t S, int64_t dim) {
    Tensor inv = 1.0 / torch::pow(10000.0, torch::arange(0, dim, 2, torch::kDouble) / (double)dim);
    Tensor t = torch::arange(S, torch::kDouble);
    Tensor freqs = torch::outer(t, inv);
    Tensor emb = torch::cat({freqs, freqs}, -1);
    return {emb.cos(), emb.sin()};
}

// t*cos + rotate_half(t)*sin, rotate_half(t) = cat(-t2, t1) over the last dim.
Tensor apply_rope(const Tensor &t, const Tensor &cos, const Tensor &sin) {
    int64_t h = t.size(-1) / 2;
    Tensor x1 = t.slice(-1, 0, h), x2 = t.slice(-1, h);
    return t * cos + torch::cat({-x2, x1}, -1) * sin;
}

// ---- cases -------------------------------------------------------------------

// The seed's transformer layer (post-LN): flash attention, add & norm,
// ReLU FFN, add & norm.  Options: prefix=layer input=x output=output heads.
void case_transformer(Ctx &c) {
    std::string p = c.S("prefix", "layer");
    int64_t H = c.I("heads", 8);
    Tensor x = c.T(c.S("input", "x"));
    Tensor attn = flash_attention(c, p + ".attention", x, x, x, H);
    Tensor x1 = layer_norm(c, p + ".norm1", x + attn);
    Tensor ffn = lin(c, p + ".ffn2", torch::relu(lin(c, p + ".ffn1", x1)));
    Tensor out = layer_norm(c, p + ".norm2", x1 + ffn);
    if (c.has("attn_out")) c.check("attn_out (flash module)", c.T("attn_out"), attn);
    c.check(c.S("output", "output"), c.T(c.S("output", "output")), out);
}

// torch_scaled_dot_product_attention on q,k,v [B,H,Sq|Sk,D].  Every saved
// tensor out_<tag> is checked: mask_<tag> is its mask when present, a tag
// containing "causal" sets is_causal, a tag containing "scale" uses
// scale=<opt scale> (default 0.25), otherwise 1/sqrt(D).
void case_sdpa(Ctx &c) {
    Tensor q = c.T("q"), k = c.T("k"), v = c.T("v");
    int n = 0;
    for (auto &kv : c.st.tensors) {
        const std::string &name = kv.first;
        if (name.rfind("out_", 0) != 0) continue;
        std::string tag = name.substr(4);
        // vary=1: only the compiled entry's outputs match the new inputs
        if (c.replaced.count("q") && !c.replaced.count(name)) continue;
        Tensor mask = c.has("mask_" + tag) ? c.T("mask_" + tag) : Tensor();
        bool causal = tag.find("causal") != std::string::npos;
        double scale = tag.find("scale") != std::string::npos ? c.D("scale", 0.25)
                                                               : 1.0 / std::sqrt((double)q.size(-1));
        Tensor ref = attend(q, k, v, mask, causal, scale);
        std::string what = name + (mask.defined() ? (mask.scalar_type() == torch::kBool ? " (bool mask)" : " (float mask)") : "");
        c.check(what, c.T(name), ref);
        n++;
    }
    if (n == 0) throw std::runtime_error("no out_* tensor in the file");
}

// Grouped-query attention: q [B,Hq,Sq,D], k and v [B,Hkv,Sk,D] with Hkv
// dividing Hq.  Every out_<tag> is checked against attention on K and V
// repeat_interleave'd Hq/Hkv times along dim -3 (what PyTorch's enable_gqa
// does; libtorch 1.13 has no enable_gqa); a tag containing "causal" is
// causal, mask_<tag> is its mask.
void case_gqa(Ctx &c) {
    Tensor q = c.T("q"), k = c.T("k"), v = c.T("v");
    int64_t G = q.size(-3) / k.size(-3);
    if (G * k.size(-3) != q.size(-3)) throw std::runtime_error("gqa: Hq is not a multiple of Hkv");
    Tensor kr = k.repeat_interleave(G, -3), vr = v.repeat_interleave(G, -3);
    int n = 0;
    for (auto &kv : c.st.tensors) {
        const std::string &name = kv.first;
        if (name.rfind("out_", 0) != 0) continue;
        std::string tag = name.substr(4);
        if (c.replaced.count("q") && !c.replaced.count(name)) continue;
        Tensor mask = c.has("mask_" + tag) ? c.T("mask_" + tag) : Tensor();
        bool causal = tag.find("causal") != std::string::npos;
        Tensor ref = attend(q, kr, vr, mask, causal, 1.0 / std::sqrt((double)q.size(-1)));
        c.check(name + " (G=" + std::to_string(G) + ")", c.T(name), ref);
        n++;
    }
    if (n == 0) throw std::runtime_error("no out_* tensor in the file");
}

// GPT-style decoder: token + learned positions, pre-LN blocks with one QKV
// linear sliced into q,k,v, causal attention, GELU MLP, final LN, LM head.
// Prefix gpt: gpt.tok_emb, gpt.pos_emb (tensor), gpt.blocks.<i>.{ln1,qkv,proj,ln2,fc,fc_out},
// gpt.ln_f, gpt.lm_head.  Inputs ids [B,S] (i64); outputs hidden, logits.
void case_gpt(Ctx &c) {
    std::string p = c.S("prefix", "gpt");
    int64_t H = c.I("heads", 4);
    Tensor ids = c.T("ids");
    int64_t S = ids.size(1);
    // learned positions: a raw [max_pos,E] parameter or an embedding module
    Tensor pos = c.has(p + ".pos_emb") ? c.T(p + ".pos_emb") : c.T(p + ".pos_emb.weight");
    Tensor x = torch::embedding(c.T(p + ".tok_emb.weight"), ids) + pos.slice(0, 0, S);
    int64_t E = x.size(-1);
    int L = 0;
    for (;; L++) {
        std::string b = p + ".blocks." + std::to_string(L);
        if (!c.has(b + ".ln1.weight")) break;
        Tensor qkv = lin(c, b + ".qkv", layer_norm(c, b + ".ln1", x));
        Tensor q = split_heads(qkv.slice(-1, 0, E), H);
        Tensor k = split_heads(qkv.slice(-1, E, 2 * E), H);
        Tensor v = split_heads(qkv.slice(-1, 2 * E, 3 * E), H);
        Tensor a = attend(q, k, v, Tensor(), true, 1.0 / std::sqrt((double)(E / H)));
        x = x + lin(c, b + ".proj", merge_heads(a));
        x = x + lin(c, b + ".fc_out", torch::gelu(lin(c, b + ".fc", layer_norm(c, b + ".ln2", x))));
    }
    if (L == 0) throw std::runtime_error("no " + p + ".blocks.0.ln1.weight in the file");
    std::printf("  (%d blocks, heads %lld)\n", L, (long long)H);
    Tensor h = layer_norm(c, p + ".ln_f", x);
    if (!c.replaced.count("ids") || c.replaced.count("hidden"))   // vary=1: hidden is stale
        c.check("hidden", c.T("hidden"), h);
    c.check("logits", c.T("logits"), lin(c, p + ".lm_head", h));
}

// Llama block: RMSNorm, bias-free q/k/v/o, rotary on q and k, causal
// attention, SiLU-gated MLP.  Prefix blk: blk.attn_norm, blk.ffn_norm
// (weight tensors), blk.{wq,wk,wv,wo,w_gate,w_up,w_down}.weight.
// attn_norm uses the default eps 1e-6, ffn_norm eps=ffn_eps (1e-5).
void case_llama(Ctx &c) {
    std::string p = c.S("prefix", "blk");
    int64_t H = c.I("heads", 4);
    Tensor x = c.T(c.S("input", "x"));
    int64_t S = x.size(1), E = x.size(2), Dh = E / H;
    for (const char *m : {"wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"}) {
        if (c.has(p + "." + m + ".bias")) {
            std::printf("  %-28s FAIL: has a bias, but was created with bias false\n", (p + "." + m).c_str());
            c.failures++;
        }
    }
    auto cs = rope_tables(S, Dh);
    if (c.has(p + ".rope.cos_cached")) {
        Tensor cc = c.T(p + ".rope.cos_cached"), sc = c.T(p + ".rope.sin_cached");
        auto full = rope_tables(cc.size(0), Dh);
        c.check("rope.cos_cached", cc, full.first);
        c.check("rope.sin_cached", sc, full.second);
    }
    Tensor h = rms_norm(x, c.T(p + ".attn_norm"), 1e-6);
    Tensor q = apply_rope(split_heads(lin(c, p + ".wq", h), H), cs.first, cs.second);
    Tensor k = apply_rope(split_heads(lin(c, p + ".wk", h), H), cs.first, cs.second);
    Tensor v = split_heads(lin(c, p + ".wv", h), H);
    Tensor a = attend(q, k, v, Tensor(), true, 1.0 / std::sqrt((double)Dh));
    Tensor x1 = x + lin(c, p + ".wo", merge_heads(a));
    Tensor h2 = rms_norm(x1, c.T(p + ".ffn_norm"), c.D("ffn_eps", 1e-5));
    Tensor out = x1 + lin(c, p + ".w_down", torch::silu(lin(c, p + ".w_gate", h2)) * lin(c, p + ".w_up", h2));
    if (c.has("q_rot")) c.check("q_rot (rotary applied)", c.T("q_rot"), q);
    c.check(c.S("output", "out"), c.T(c.S("output", "out")), out);
}

// torch_multihead_attention + torch_attention_forward, sequence-first,
// checked against libtorch's nn::MultiheadAttention with the saved weights.
void case_mha(Ctx &c) {
    std::string p = c.S("prefix", "mha");
    int64_t H = c.I("heads", 4);
    Tensor q = c.T("q_in"), kv = c.T("kv_in");
    c.check("out_self", c.T("out_self"), mha_forward(c, p, q, q, q, H));
    c.check("out_cross", c.T("out_cross"), mha_forward(c, p, q, kv, kv, H));
}

// torch_transformer_block (post-LN, sequence-first):
//   x1 = norm1(x + MHA(x,x,x)); out = norm2(x1 + ffn2(relu(ffn1(x1)))).
void case_block(Ctx &c) {
    std::string p = c.S("prefix", "tblock");
    int64_t H = c.I("heads", 4);
    Tensor x = c.T(c.S("input", "x"));
    Tensor x1 = layer_norm(c, p + ".norm1", x + mha_forward(c, p + ".attention", x, x, x, H));
    Tensor out = layer_norm(c, p + ".norm2", x1 + lin(c, p + ".ffn2", torch::relu(lin(c, p + ".ffn1", x1))));
    c.check(c.S("output", "out"), c.T(c.S("output", "out")), out);
}

// The flash module's entry points (see tests/oracle/flash.lsp).
void case_flash(Ctx &c) {
    int64_t H = c.I("heads", 3);
    Tensor q = c.T("q_in"), k = c.T("k_in"), v = c.T("v_in");
    Tensor fwd = flash_attention(c, "fa", q, k, v, H);
    c.check("out_fwd", c.T("out_fwd"), fwd);
    c.check("out_mask (float mask)", c.T("out_mask"), flash_attention(c, "fa", q, k, v, H, c.T("mask_f")));
    for (const char *m : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        if (c.has(std::string("fa_nb.") + m + ".bias")) {
            std::printf("  fa_nb.%-22s FAIL: has a bias, but was created with bias false\n", m);
            c.failures++;
        }
        if (!c.has(std::string("fa.") + m + ".bias")) {
            std::printf("  fa.%-25s FAIL: no bias, but bias is on by default\n", m);
            c.failures++;
        }
    }
    c.check("out_nobias", c.T("out_nobias"), flash_attention(c, "fa_nb", q, k, v, H));
    c.check("out_drop_eval", c.T("out_drop_eval"), fwd);
    c.check("out_cross (Sk != Sq)", c.T("out_cross"), flash_attention(c, "fa", q, c.T("k_long"), c.T("v_long"), H));
    c.check("out_simple", c.T("out_simple"),
            attend(q, k, v, Tensor(), false, 1.0 / std::sqrt((double)q.size(-1))));
}

// examples_enhanced.lsp's pipeline: ln(h + flash(h)), h = embedding(ids).
// The flash module is saved under its own global (attn_prefix, first path
// wins), the rest under prefix.
void case_encoder(Ctx &c) {
    std::string p = c.S("prefix", "encoder");
    int64_t H = c.I("heads", 4);
    Tensor h = torch::embedding(c.T(p + ".embedding.weight"), c.T(c.S("input", "ids")));
    Tensor a = flash_attention(c, c.S("attn_prefix", p + ".attention"), h, h, h, H);
    std::string out = c.S("output", "encoded");
    c.check(out, c.T(out), layer_norm(c, p + ".norm", h + a));
}

// Sinusoidal positional encoding (sequence-first) and an embedding lookup.
void case_posenc(Ctx &c) {
    Tensor x = c.T("x");
    int64_t S = x.size(0), d = x.size(2);
    int64_t L = S;
    if (c.has("penc.pe")) L = c.T("penc.pe").size(0);
    // pe[p,2i] = sin(p * exp(-2i ln(10000)/d)), pe[p,2i+1] = cos(...)
    Tensor pos = torch::arange(L, torch::kDouble).unsqueeze(1);
    Tensor div = torch::exp(torch::arange(0, d, 2, torch::kDouble) * (-std::log(10000.0) / (double)d));
    Tensor pe = torch::zeros({L, d}, torch::kDouble);
    pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)}, torch::sin(pos * div));
    pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)}, torch::cos(pos * div));
    if (c.has("penc.pe")) c.check("penc.pe", c.T("penc.pe").reshape({L, d}), pe);
    c.check("out", c.T("out"), x + pe.slice(0, 0, S).unsqueeze(1));
    c.check("out_emb", c.T("out_emb"), torch::embedding(c.T("emb.weight"), c.T("ids")));
}

// ---- compiled mode -------------------------------------------------------------

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    size_t b = 0;
    for (;;) {
        size_t e = s.find(sep, b);
        out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
        if (e == std::string::npos) return out;
        b = e + 1;
    }
}

bool st_to_ltc(const std::string &d, ltc_dtype *t) {
    if (d == "F32") *t = LTC_F32;
    else if (d == "F16") *t = LTC_F16;
    else if (d == "BF16") *t = LTC_BF16;
    else if (d == "I64") *t = LTC_I64;
    else if (d == "BOOL") *t = LTC_BOOL;
    else return false;
    return true;
}

// Run the entry of a model.so on the saved inputs; its outputs replace the
// saved tensors named in `outs`.
void run_compiled(Ctx &c, const std::string &so, const std::string &weights, const std::string &entry,
                  const std::vector<std::string> &outs) {
    ltc_error e;
    ltc_model *m = ltc_model_open(so.c_str(), &e);
    if (!m) throw std::runtime_error("cannot open " + so + ": " + e.message);
    struct Closer { ltc_model *m; ~Closer() { ltc_model_close(m); } } closer{m};
    if (ltc_model_bind_weights_file(m, weights.c_str()) != 0)
        throw std::runtime_error("binding weights from " + weights + ": " + ltc_last_error(m)->message);
    const char *en = entry.empty() ? nullptr : entry.c_str();
    int nin = ltc_model_num_inputs(m, en), nout = ltc_model_num_outputs(m, en);
    if (nin < 0 || nout < 0) throw std::runtime_error(std::string("entry: ") + ltc_last_error(m)->message);
    if ((size_t)nout != outs.size())
        throw std::runtime_error("the entry has " + std::to_string(nout) + " outputs, entry_out names " +
                                 std::to_string(outs.size()));
    std::vector<DLTensor *> ins((size_t)nin, nullptr), res((size_t)nout, nullptr);
    struct Freer { std::vector<DLTensor *> &v; ~Freer() { for (auto *t : v) ltc_tensor_free(t); } };
    Freer f1{ins}, f2{res};
    std::string names;
    // vary=1: feed inputs of other sizes than the traced example: every
    // symbolic dimension (a plain symbol such as "B" or "S") n -> n-1 (n > 2)
    // or n+1, the same for every input that shares the symbol.  The inputs
    // are fresh random values, used by the reference too.
    bool vary = c.I("vary", 0) != 0;
    std::map<std::string, int64_t> symval;
    torch::manual_seed(20261122);
    for (int i = 0; i < nin; i++) {
        ltc_tensor_info info;
        if (ltc_model_input_info(m, en, i, &info) != 0) throw std::runtime_error(ltc_last_error(m)->message);
        auto it = c.st.tensors.find(info.name);
        if (it == c.st.tensors.end())
            throw std::runtime_error(std::string("entry input '") + info.name + "' is not a saved tensor");
        ltc_dtype dt;
        if (!st_to_ltc(it->second.dtype, &dt)) throw std::runtime_error("unsupported input dtype");
        Tensor x = c.T(info.name);
        if (vary) {
            std::vector<int64_t> shape = it->second.shape;
            for (int d = 0; d < info.ndim && d < (int)shape.size(); d++) {
                if (info.dims[d] != -1) continue;
                std::string sym = info.dim_names[d] ? info.dim_names[d] : "";
                if (sym.empty() || sym.find_first_of("*+ ") != std::string::npos)
                    throw std::runtime_error("vary: dimension '" + sym + "' is not a plain symbol");
                if (!symval.count(sym)) symval[sym] = shape[(size_t)d] > 2 ? shape[(size_t)d] - 1 : shape[(size_t)d] + 1;
                shape[(size_t)d] = symval[sym];
            }
            if (x.scalar_type() == torch::kLong)
                x = torch::randint(0, x.max().item<int64_t>() + 1, shape, torch::kLong);
            else if (x.is_floating_point())
                x = torch::rand(shape, torch::kFloat).to(torch::kDouble);
            else
                throw std::runtime_error("vary: unsupported input dtype");
            c.replaced[info.name] = x;
        }
        Tensor feed = x.is_floating_point() ? x.to(torch::kFloat).contiguous() : x.contiguous();
        if (feed.is_floating_point() && dt != LTC_F32) throw std::runtime_error("vary/feed: input is not f32");
        std::vector<int64_t> shape(feed.sizes().begin(), feed.sizes().end());
        ins[(size_t)i] = ltc_tensor_alloc(dt, (int)shape.size(), shape.data());
        if (!ins[(size_t)i]) throw std::runtime_error("out of memory");
        std::memcpy(ins[(size_t)i]->data, feed.data_ptr(), feed.numel() * feed.element_size());
        names += std::string(i ? ", " : "") + info.name + Ctx::shape_str(feed);
    }
    std::vector<DLTensor> in_vals;
    for (auto *t : ins) in_vals.push_back(*t);
    if (ltc_model_run_alloc(m, en, in_vals.data(), nin, res.data(), nout) != 0)
        throw std::runtime_error(std::string("run: ") + ltc_last_error(m)->message);
    for (int i = 0; i < nout; i++) {
        DLTensor *t = res[(size_t)i];
        if (t->dtype.code != kDLFloat || t->dtype.bits != 32)
            throw std::runtime_error("compiled output " + std::to_string(i) + " is not f32");
        std::vector<int64_t> shape(t->shape, t->shape + t->ndim);
        c.replaced[outs[(size_t)i]] =
            torch::from_blob((char *)t->data + t->byte_offset, shape, torch::kFloat).to(torch::kDouble);
    }
    std::printf("  compiled %s: entry %s(%s) -> %s\n", so.c_str(), en ? en : ltc_model_entry_name(m, 0),
                names.c_str(), c.S("entry_out", "").c_str());
}

int usage() {
    std::fprintf(stderr,
                 "usage: oracle_check CASE FILE.safetensors [key=value ...]\n"
                 "cases: transformer sdpa gqa gpt llama mha block flash posenc encoder\n"
                 "keys:  tol heads prefix input output scale ffn_eps\n"
                 "       so=MODEL.so entry_out=NAME[:NAME] [entry=NAME] [weights=W.safetensors]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    std::map<std::string, std::function<void(Ctx &)>> cases = {
        {"transformer", case_transformer}, {"sdpa", case_sdpa}, {"gqa", case_gqa}, {"gpt", case_gpt},
        {"llama", case_llama},             {"mha", case_mha},   {"block", case_block},
        {"flash", case_flash},             {"posenc", case_posenc},   {"encoder", case_encoder},
    };
    std::string name = argv[1];
    auto it = cases.find(name);
    if (it == cases.end()) return usage();
    Ctx c;
    for (int i = 3; i < argc; i++) {
        std::string a = argv[i];
        size_t eq = a.find('=');
        if (eq == std::string::npos) return usage();
        c.opt[a.substr(0, eq)] = a.substr(eq + 1);
    }
    c.tol = c.D("tol", 1e-5);
    std::string err;
    if (!st_load(argv[2], c.st, err)) {
        std::fprintf(stderr, "oracle_check: %s\n", err.c_str());
        return 1;
    }
    std::printf("oracle %s: %s (%zu tensors)\n", name.c_str(), argv[2], c.st.tensors.size());
    torch::set_num_threads(1);
    try {
        if (c.opt.count("so"))
            run_compiled(c, c.S("so", ""), c.S("weights", argv[2]), c.S("entry", ""),
                         split(c.S("entry_out", "output"), ':'));
        it->second(c);
    } catch (const std::exception &e) {
        std::printf("oracle %s: ERROR: %s\n", name.c_str(), e.what());
        return 1;
    }
    std::printf("oracle %s: %s (%d checked, %d failed)\n", name.c_str(), c.failures ? "FAIL" : "PASS",
                c.checked, c.failures);
    return c.failures ? 1 : 0;
}
