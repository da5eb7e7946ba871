/* safetensors.c: read and write the safetensors format.
 *
 *   [u64 little-endian N][N bytes of JSON header][data]
 *
 * The header maps each tensor name to {"dtype","shape","data_offsets"};
 * offsets [begin,end) are relative to the start of the data section.  An
 * optional "__metadata__" entry is a string -> string map.  As in the
 * reference implementation, the header is padded with spaces to a multiple
 * of 8 bytes and the tensors' data are contiguous, without holes.
 *
 * libc only: this file is also compiled into the runtime of model.so.
 * Every byte of a file is untrusted: every read is bounds-checked, and the
 * first problem is reported in err (never a crash, never a hang). */
#include "support/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

static const char *const dtype_names[] = {"F32", "F16", "BF16", "I64", "BOOL"};
static const size_t dtype_sizes[] = {4, 2, 2, 8, 1};

size_t st_dtype_size(StDType t) { return (unsigned)t < 5 ? dtype_sizes[t] : 0; }
const char *st_dtype_name(StDType t) { return (unsigned)t < 5 ? dtype_names[t] : "?"; }

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* numel * elsize, false on overflow or negative dims. */
static bool tensor_bytes(const int64_t *shape, int rank, size_t elsize, size_t *out) {
    size_t n = elsize;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) return false;
        size_t d = (size_t)shape[i];
        if (d && n > SIZE_MAX / d) return false;
        n *= d;
    }
    *out = n;
    return true;
}

/* ---- a small strict JSON reader over the header ---------------------------- */
typedef struct J {
    const char *p, *end;
    char *err; size_t errlen;
} J;

static void skip_ws(J *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jfail(J *j, const char *what, const char *start) {
    return fail(j->err, j->errlen, "malformed header JSON at byte %zu: %s",
                (size_t)(j->p - start) + 8, what);
}

static bool expect(J *j, char c) {
    skip_ws(j);
    if (j->p < j->end && *j->p == c) { j->p++; return true; }
    return false;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Parse a string into *out (decoded, NUL-terminated, written at *store,
 * which advances).  The decoded form is never longer than the source, so a
 * store as large as the header is always enough. */
static bool parse_string(J *j, char **store, const char **out) {
    skip_ws(j);
    if (j->p >= j->end || *j->p != '"') return false;
    j->p++;
    char *o = *store, *s = o;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) return false;                 /* raw control character */
        if (c != '\\') { *o++ = (char)c; continue; }
        if (j->p >= j->end) return false;
        char e = *j->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            if (j->end - j->p < 4) return false;
            for (int k = 0; k < 4; k++) {
                int h = hexval(j->p[k]);
                if (h < 0) return false;
                cp = cp << 4 | (unsigned)h;
            }
            j->p += 4;
            /* \u0000 would cut the name short: refuse it. */
            if (cp == 0) return false;
            if (cp >= 0xD800 && cp < 0xDC00) {     /* surrogate pair */
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') return false;
                unsigned lo = 0;
                for (int k = 0; k < 4; k++) {
                    int h = hexval(j->p[2 + k]);
                    if (h < 0) return false;
                    lo = lo << 4 | (unsigned)h;
                }
                if (lo < 0xDC00 || lo >= 0xE000) return false;
                j->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) return false;
            /* the 6-byte escape always covers the <= 4-byte encoding */
            o = put_utf8(o, cp);
            break;
        }
        default: return false;
        }
    }
    if (j->p >= j->end) return false;
    j->p++;                                         /* closing quote */
    *o++ = 0;
    *store = o;
    *out = s;
    return true;
}

/* A non-negative integer (JSON number without fraction or exponent). */
static bool parse_uint(J *j, uint64_t *out) {
    skip_ws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return false;
    uint64_t v = 0;
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
        j->p++;
    }
    if (j->p - s > 1 && *s == '0') return false;    /* leading zeros */
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return false;
    *out = v;
    return true;
}

/* [u, u, ...] into out (at most max); *n the count. */
static bool parse_uint_array(J *j, uint64_t *out, int max, int *n) {
    *n = 0;
    if (!expect(j, '[')) return false;
    if (expect(j, ']')) return true;
    for (;;) {
        uint64_t v;
        if (*n >= max || !parse_uint(j, &v)) return false;
        out[(*n)++] = v;
        if (expect(j, ']')) return true;
        if (!expect(j, ',')) return false;
    }
}

typedef struct Entry { uint64_t begin, end; int idx; } Entry;

static int cmp_entry(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* FNV-1a: names are short; this only spreads them over the index. */
static size_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (size_t)h;
}

/* Build the name index of t[0..n) (capacity a power of two >= 2n).
 * Returns -2 when the names are distinct, the index of the first name that
 * repeats an earlier one, or -1 when out of memory (*idx NULL then). */
static int name_index(const StTensor *t, int n, int **idx, size_t *cap) {
    size_t c = 16;
    while (c < 2 * (size_t)n) c *= 2;     /* n <= INT_MAX: no overflow on 64-bit size_t */
    int *ix = calloc(c, sizeof *ix);
    *idx = ix;
    *cap = ix ? c : 0;
    if (!ix) return -1;
    for (int i = 0; i < n; i++) {
        size_t h = name_hash(t[i].name) & (c - 1);
        while (ix[h]) {
            if (strcmp(t[ix[h] - 1].name, t[i].name) == 0) return i;
            h = (h + 1) & (c - 1);
        }
        ix[h] = i + 1;
    }
    return -2;
}

/* Parse the header text [h, h+hlen) describing a data section of dlen
 * bytes at data.  Fills f (t, n, names, meta_json). */
static int parse_header(const char *h, size_t hlen, const unsigned char *data, size_t dlen,
                        StFile *f, char *err, size_t errlen) {
    J j = {h, h + hlen, err, errlen};
    char *store = malloc(2 * hlen + 2);   /* names + metadata text */
    if (!store) return fail(err, errlen, "out of memory reading the header");
    f->names = store;
    Entry *ents = NULL;
    int cap = 0;
    uint64_t (*offs)[2] = NULL;
    bool have_meta = false;
#define JFAIL(what) do { jfail(&j, what, h); goto bad; } while (0)
#define BAD(...) do { fail(err, errlen, __VA_ARGS__); goto bad; } while (0)

    if (!expect(&j, '{')) JFAIL("expected '{'");
    if (!expect(&j, '}')) for (;;) {
        const char *key;
        if (!parse_string(&j, &store, &key)) JFAIL("expected a quoted tensor name");
        if (!expect(&j, ':')) JFAIL("expected ':'");
        if (strcmp(key, "__metadata__") == 0) {
            if (have_meta) BAD("header has two \"__metadata__\" entries");
            have_meta = true;
            skip_ws(&j);
            const char *ms = j.p;
            if (!expect(&j, '{')) JFAIL("\"__metadata__\" must be an object");
            if (!expect(&j, '}')) for (;;) {
                const char *k, *v;
                if (!parse_string(&j, &store, &k)) JFAIL("expected a metadata key");
                if (!expect(&j, ':')) JFAIL("expected ':'");
                if (!parse_string(&j, &store, &v)) JFAIL("metadata values must be strings");
                /* nmeta < hlen: each pair takes more than one header byte */
                const char **kv = realloc(f->meta_kv, (size_t)(f->nmeta + 1) * 2 * sizeof *kv);
                if (!kv) BAD("out of memory reading the header");
                f->meta_kv = kv;
                kv[2 * f->nmeta] = k;
                kv[2 * f->nmeta + 1] = v;
                f->nmeta++;
                if (expect(&j, '}')) break;
                if (!expect(&j, ',')) JFAIL("expected ',' or '}' in \"__metadata__\"");
            }
            size_t mlen = (size_t)(j.p - ms);
            memcpy(store, ms, mlen);
            store[mlen] = 0;
            f->meta_json = store;
            store += mlen + 1;
        } else {
            if (f->n == cap) {
                int nc = cap ? 2 * cap : 16;
                StTensor *nt = realloc(f->t, (size_t)nc * sizeof *nt);
                if (!nt) BAD("out of memory reading the header");
                f->t = nt;
                uint64_t (*no)[2] = realloc(offs, (size_t)nc * sizeof *no);
                if (!no) BAD("out of memory reading the header");
                offs = no;
                cap = nc;
            }
            StTensor *t = &f->t[f->n];
            memset(t, 0, sizeof *t);
            t->name = key;
            bool has_dtype = false, has_shape = false, has_offs = false;
            if (!expect(&j, '{')) JFAIL("a tensor entry must be an object");
            if (!expect(&j, '}')) for (;;) {
                const char *field;
                if (!parse_string(&j, &store, &field)) JFAIL("expected a field name");
                if (!expect(&j, ':')) JFAIL("expected ':'");
                if (strcmp(field, "dtype") == 0) {
                    const char *dt;
                    if (!parse_string(&j, &store, &dt)) JFAIL("\"dtype\" must be a string");
                    int k = 0;
                    while (k < 5 && strcmp(dt, dtype_names[k]) != 0) k++;
                    if (k == 5)
                        BAD("tensor '%s': unsupported dtype '%s' (expected F32, F16, BF16, I64 or BOOL)",
                            key, dt);
                    t->dtype = (StDType)k;
                    has_dtype = true;
                } else if (strcmp(field, "shape") == 0) {
                    uint64_t dims[ST_MAX_RANK];
                    if (!parse_uint_array(&j, dims, ST_MAX_RANK, &t->rank)) {
                        BAD("tensor '%s': \"shape\" must be a list of at most %d non-negative integers",
                            key, ST_MAX_RANK);
                    }
                    for (int k = 0; k < t->rank; k++) {
                        if (dims[k] > (uint64_t)INT64_MAX) BAD("tensor '%s': dimension too large", key);
                        t->shape[k] = (int64_t)dims[k];
                    }
                    has_shape = true;
                } else if (strcmp(field, "data_offsets") == 0) {
                    int n2;
                    if (!parse_uint_array(&j, offs[f->n], 2, &n2) || n2 != 2)
                        BAD("tensor '%s': \"data_offsets\" must be [begin, end]", key);
                    has_offs = true;
                } else {
                    BAD("tensor '%s': unknown field '%s'", key, field);
                }
                if (expect(&j, '}')) break;
                if (!expect(&j, ',')) JFAIL("expected ',' or '}' in a tensor entry");
            }
            if (!has_dtype || !has_shape || !has_offs)
                BAD("tensor '%s': missing \"%s\"", key,
                    !has_dtype ? "dtype" : !has_shape ? "shape" : "data_offsets");
            f->n++;
        }
        if (expect(&j, '}')) break;
        if (!expect(&j, ',')) JFAIL("expected ',' or '}'");
    }
    /* Only padding may follow the object (the reference pads with spaces). */
    skip_ws(&j);
    while (j.p < j.end && *j.p == 0) j.p++;
    if (j.p != j.end) JFAIL("unexpected text after the header object");

    {
        int dup = name_index(f->t, f->n, &f->index, &f->index_cap);
        if (dup == -1) BAD("out of memory reading the header");
        if (dup >= 0) BAD("tensor '%s' appears twice in the header", f->t[dup].name);
    }

    /* Offsets: inside the data section, each matching shape x dtype, and
     * sorted by begin they tile [0, dlen) exactly. */
    if (f->n) {
        ents = malloc((size_t)f->n * sizeof *ents);
        if (!ents) BAD("out of memory reading the header");
    }
    for (int i = 0; i < f->n; i++) {
        StTensor *t = &f->t[i];
        uint64_t b = offs[i][0], e = offs[i][1];
        if (b > e) BAD("tensor '%s': data_offsets [%llu, %llu] are reversed", t->name,
                       (unsigned long long)b, (unsigned long long)e);
        if (e > dlen)
            BAD("tensor '%s': data_offsets [%llu, %llu] lie beyond the data (%zu bytes; file truncated?)",
                t->name, (unsigned long long)b, (unsigned long long)e, dlen);
        size_t want;
        if (!tensor_bytes(t->shape, t->rank, dtype_sizes[t->dtype], &want))
            BAD("tensor '%s': shape is too large", t->name);
        if (e - b != want)
            BAD("tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but a %s tensor of this shape needs %zu",
                t->name, (unsigned long long)b, (unsigned long long)e, (unsigned long long)(e - b),
                dtype_names[t->dtype], want);
        t->data = data + b;
        t->nbytes = (size_t)(e - b);
        ents[i] = (Entry){b, e, i};
    }
    if (f->n) qsort(ents, (size_t)f->n, sizeof *ents, cmp_entry);
    uint64_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        if (ents[i].begin < pos)
            BAD("tensors '%s' and '%s' overlap in the data section",
                f->t[ents[i - 1].idx].name, f->t[ents[i].idx].name);
        if (ents[i].begin > pos)
            BAD("tensor '%s': data_offsets leave a gap of %llu bytes before it", f->t[ents[i].idx].name,
                (unsigned long long)(ents[i].begin - pos));
        pos = ents[i].end;
    }
    if (pos != dlen)
        BAD("the data section has %zu bytes but the tensors cover %llu", dlen, (unsigned long long)pos);
    free(ents);
    free(offs);
    return 0;
bad:
    free(ents);
    free(offs);
    return -1;
#undef JFAIL
#undef BAD
}

static int open_buffer(const void *buf, size_t n, StFile *f, char *err, size_t errlen) {
    const unsigned char *b = buf;
    if (n < 8) return fail(err, errlen, "file too short (%zu bytes): truncated safetensors file", n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
    if (hlen > ST_MAX_HEADER) return fail(err, errlen, "header length %llu is too large (limit %u bytes)",
                                          (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > n - 8)
        return fail(err, errlen, "header length %llu goes beyond the end of the file (%zu bytes): truncated file?",
                    (unsigned long long)hlen, n);
    if (hlen < 2) return fail(err, errlen, "header too short (%llu bytes)", (unsigned long long)hlen);
    return parse_header((const char *)b + 8, (size_t)hlen, b + 8 + hlen, n - 8 - (size_t)hlen, f, err, errlen);
}

int st_open_memory(const void *buf, size_t n, StFile *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    if (open_buffer(buf, n, f, err, errlen) != 0) { st_close(f); return -1; }
    return 0;
}

int st_open(const char *path, StFile *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "'%s' is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    void *map = NULL;
    if (n > 0) {
        map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return fail(err, errlen, "cannot map '%s': %s", path, strerror(e));
        }
    }
    close(fd);
    f->map = map;
    f->maplen = n;
    if (open_buffer(map ? map : "", n, f, err, errlen) != 0) { st_close(f); return -1; }
    return 0;
}

void st_close(StFile *f) {
    free(f->index);
    free(f->t);
    free(f->meta_kv);
    free(f->names);
    if (f->map) munmap(f->map, f->maplen);
    memset(f, 0, sizeof *f);
}

const char *st_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_kv[2 * i], key) == 0) return f->meta_kv[2 * i + 1];
    return NULL;
}

const StTensor *st_find(const StFile *f, const char *name) {
    if (f->index) {
        size_t c = f->index_cap, h = name_hash(name) & (c - 1);
        for (; f->index[h]; h = (h + 1) & (c - 1))
            if (strcmp(f->t[f->index[h] - 1].name, name) == 0) return &f->t[f->index[h] - 1];
        return NULL;
    }
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------- */
/* Growable text buffer, local so the file stays libc-only. */
typedef struct Buf { char *s; size_t len, cap; bool oom; } Buf;

static void bput(Buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (b->len + n + 1 > nc) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = true; return; }
        b->s = ns; b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}
static void bputs(Buf *b, const char *s) { bput(b, s, strlen(s)); }

static void bstr(Buf *b, const char *s) {
    bputs(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; bput(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); bputs(b, esc); }
        else bput(b, (const char *)&c, 1);
    }
    bputs(b, "\"");
}

/* meta_kv holds nmeta key/value pairs: meta_kv[2i] is a key, meta_kv[2i+1]
 * its value.  Tensors keep the given order; their data are contiguous. */
int st_write(const char *path, const StTensor *ts, int n,
             const char *const *meta_kv, int nmeta, char *err, size_t errlen) {
    if (n < 0 || nmeta < 0) return fail(err, errlen, "st_write: negative count");
    Buf h = {0};
    char num[64];
    uint64_t off = 0;
    bputs(&h, "{");
    bool first = true;
    if (nmeta > 0) {
        bputs(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (!meta_kv[2 * i] || !meta_kv[2 * i + 1]) { free(h.s); return fail(err, errlen, "NULL metadata entry"); }
            if (i) bputs(&h, ",");
            bstr(&h, meta_kv[2 * i]);
            bputs(&h, ":");
            bstr(&h, meta_kv[2 * i + 1]);
        }
        bputs(&h, "}");
        first = false;
    }
    for (int i = 0; i < n; i++) {
        const StTensor *t = &ts[i];
        size_t want;
        const char *bad = NULL;
        if (!t->name) bad = "has no name";
        else if (strcmp(t->name, "__metadata__") == 0) bad = "has a reserved name";
        else if ((unsigned)t->dtype >= 5) bad = "has an invalid dtype";
        else if (t->rank < 0 || t->rank > ST_MAX_RANK) bad = "has an invalid rank";
        else if (!tensor_bytes(t->shape, t->rank, dtype_sizes[t->dtype], &want)) bad = "has an invalid shape";
        else if (want != t->nbytes) bad = "has nbytes different from shape x dtype size";
        else if (t->nbytes && !t->data) bad = "has no data";
        if (bad) {
            free(h.s);
            return fail(err, errlen, "cannot write tensor '%s': it %s", t->name ? t->name : "?", bad);
        }
        if (!first) bputs(&h, ",");
        first = false;
        bstr(&h, t->name);
        bputs(&h, ":{\"dtype\":\"");
        bputs(&h, dtype_names[t->dtype]);
        bputs(&h, "\",\"shape\":[");
        for (int k = 0; k < t->rank; k++) {
            snprintf(num, sizeof num, "%s%lld", k ? "," : "", (long long)t->shape[k]);
            bputs(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + t->nbytes));
        bputs(&h, num);
        off += t->nbytes;
    }
    bputs(&h, "}");
    {
        /* every name is non-NULL here (checked above) */
        int *ix;
        size_t cap;
        int dup = name_index(ts, n, &ix, &cap);
        free(ix);
        if (dup != -2) {
            free(h.s);
            if (dup == -1) return fail(err, errlen, "out of memory writing '%s'", path);
            return fail(err, errlen, "cannot write tensor '%s': it appears twice", ts[dup].name);
        }
    }
    while (!h.oom && h.len % 8) bputs(&h, " ");
    if (h.oom) { free(h.s); return fail(err, errlen, "out of memory writing '%s'", path); }

    /* Atomic: write path.tmp.PID, then rename over path. */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        free(h.s);
        return fail(err, errlen, "output path too long: '%s'", path);
    }
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        free(h.s);
        return fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    bool ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(h.s, 1, h.len, fp) == h.len;
    for (int i = 0; ok && i < n; i++)
        if (ts[i].nbytes) ok = fwrite(ts[i].data, 1, ts[i].nbytes, fp) == ts[i].nbytes;
    int e = errno;
    if (fflush(fp) != 0 && ok) { ok = false; e = errno; }
    if (fclose(fp) != 0 && ok) { ok = false; e = errno; }
    free(h.s);
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        unlink(tmp);
        return fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}
