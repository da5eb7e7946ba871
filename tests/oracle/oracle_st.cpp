// oracle_st.cpp: the oracle's own safetensors reader (see oracle_st.h).
// A small strict JSON reader over the header; every offset is checked
// against the file size, so a damaged file gives a message, not a crash.
#include "oracle_st.h"

#include <cstdio>
#include <cstring>

namespace {

struct Json {
    enum Kind { NUL, BOOL, NUM, STR, ARR, OBJ } kind = NUL;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    std::vector<std::pair<std::string, Json>> obj;
};

struct Parser {
    const char *p, *end;
    std::string err;

    void ws() { while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++; }
    bool fail(const char *what) { if (err.empty()) err = what; return false; }

    bool string(std::string &s) {
        ws();
        if (p >= end || *p != '"') return fail("expected a string");
        p++;
        while (p < end && *p != '"') {
            char c = *p++;
            if (c == '\\') {
                if (p >= end) return fail("bad escape");
                char e = *p++;
                switch (e) {
                case 'n': s += '\n'; break;
                case 't': s += '\t'; break;
                case 'r': s += '\r'; break;
                case 'b': s += '\b'; break;
                case 'f': s += '\f'; break;
                case 'u': {
                    // Names here are ASCII; keep \uXXXX below 0x80, else '?'.
                    if (end - p < 4) return fail("bad \\u escape");
                    unsigned v = 0;
                    for (int i = 0; i < 4; i++) {
                        char h = *p++;
                        v <<= 4;
                        if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                        else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                        else return fail("bad \\u escape");
                    }
                    s += v < 0x80 ? (char)v : '?';
                    break;
                }
                default: s += e; break;
                }
            } else {
                s += c;
            }
        }
        if (p >= end) return fail("unterminated string");
        p++;
        return true;
    }

    bool value(Json &v, int depth) {
        if (depth > 16) return fail("JSON nested too deeply");
        ws();
        if (p >= end) return fail("unexpected end of header");
        char c = *p;
        if (c == '"') { v.kind = Json::STR; return string(v.str); }
        if (c == '{') {
            v.kind = Json::OBJ;
            p++; ws();
            if (p < end && *p == '}') { p++; return true; }
            for (;;) {
                std::string k;
                if (!string(k)) return false;
                ws();
                if (p >= end || *p != ':') return fail("expected ':'");
                p++;
                Json item;
                if (!value(item, depth + 1)) return false;
                v.obj.emplace_back(std::move(k), std::move(item));
                ws();
                if (p < end && *p == ',') { p++; continue; }
                if (p < end && *p == '}') { p++; return true; }
                return fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.kind = Json::ARR;
            p++; ws();
            if (p < end && *p == ']') { p++; return true; }
            for (;;) {
                Json item;
                if (!value(item, depth + 1)) return false;
                v.arr.push_back(std::move(item));
                ws();
                if (p < end && *p == ',') { p++; continue; }
                if (p < end && *p == ']') { p++; return true; }
                return fail("expected ',' or ']'");
            }
        }
        if (end - p >= 4 && !strncmp(p, "null", 4)) { p += 4; v.kind = Json::NUL; return true; }
        if (end - p >= 4 && !strncmp(p, "true", 4)) { p += 4; v.kind = Json::BOOL; v.num = 1; return true; }
        if (end - p >= 5 && !strncmp(p, "false", 5)) { p += 5; v.kind = Json::BOOL; return true; }
        // number: integers are all the header holds; parse with strtod on a copy
        const char *s = p;
        while (p < end && (strchr("+-0123456789.eE", *p) != nullptr)) p++;
        if (p == s) return fail("unexpected character");
        std::string txt(s, p);
        char *e = nullptr;
        v.kind = Json::NUM;
        v.num = strtod(txt.c_str(), &e);
        if (!e || *e) return fail("bad number");
        return true;
    }
};

} // namespace

size_t st_elem_size(const std::string &d) {
    if (d == "F32") return 4;
    if (d == "F16" || d == "BF16") return 2;
    if (d == "I64" || d == "F64") return 8;
    if (d == "BOOL") return 1;
    return 0;
}

bool st_load(const std::string &path, StData &out, std::string &err) {
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) { err = "cannot open " + path; return false; }
    std::vector<uint8_t> buf;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + n);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) { err = "read error on " + path; return false; }
    if (buf.size() < 8) { err = path + ": shorter than the 8-byte header length"; return false; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[(size_t)i];
    if (hlen > buf.size() - 8) { err = path + ": header length beyond end of file"; return false; }
    out.bytes = std::move(buf);
    const char *h = (const char *)out.bytes.data() + 8;
    Parser P{h, h + hlen, {}};
    Json root;
    if (!P.value(root, 0) || root.kind != Json::OBJ) {
        err = path + ": bad header: " + (P.err.empty() ? "not an object" : P.err);
        return false;
    }
    const uint8_t *data = out.bytes.data() + 8 + hlen;
    size_t dlen = out.bytes.size() - 8 - hlen;
    for (auto &kv : root.obj) {
        const Json &o = kv.second;
        if (kv.first == "__metadata__") {
            for (auto &m : o.obj) if (m.second.kind == Json::STR) out.meta[m.first] = m.second.str;
            continue;
        }
        if (o.kind != Json::OBJ) { err = kv.first + ": entry is not an object"; return false; }
        StEntry e;
        const Json *offs = nullptr, *shape = nullptr;
        for (auto &f2 : o.obj) {
            if (f2.first == "dtype" && f2.second.kind == Json::STR) e.dtype = f2.second.str;
            else if (f2.first == "shape" && f2.second.kind == Json::ARR) shape = &f2.second;
            else if (f2.first == "data_offsets" && f2.second.kind == Json::ARR) offs = &f2.second;
        }
        if (!shape || !offs || offs->arr.size() != 2 || e.dtype.empty()) {
            err = kv.first + ": missing dtype, shape or data_offsets";
            return false;
        }
        size_t numel = 1;
        for (auto &d : shape->arr) {
            if (d.kind != Json::NUM || d.num < 0) { err = kv.first + ": bad shape"; return false; }
            e.shape.push_back((int64_t)d.num);
            numel *= (size_t)d.num;
        }
        double b = offs->arr[0].num, en = offs->arr[1].num;
        if (b < 0 || en < b || en > (double)dlen) { err = kv.first + ": data_offsets outside the file"; return false; }
        size_t es = st_elem_size(e.dtype);
        if (!es) { err = kv.first + ": unknown dtype " + e.dtype; return false; }
        e.nbytes = (size_t)(en - b);
        if (e.nbytes != numel * es) { err = kv.first + ": size does not match shape and dtype"; return false; }
        e.data = data + (size_t)b;
        out.tensors[kv.first] = e;
    }
    return true;
}
