// oracle_st.h: an independent, minimal safetensors reader for the oracle.
//
// Deliberately NOT support/safetensors.c: the oracle checks the files that
// lispetorchc writes, so it reads them with code of its own.  The format:
//   [u64 little-endian N][N bytes of JSON header][data]
// header = {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
//           ..., "__metadata__": {"k": "v", ...}}
// Offsets are relative to the start of the data section.
#ifndef ORACLE_ST_H
#define ORACLE_ST_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct StEntry {
    std::string dtype;              // "F32", "F16", "BF16", "I64", "BOOL"
    std::vector<int64_t> shape;
    const uint8_t *data = nullptr;  // points into StData::bytes
    size_t nbytes = 0;
};

struct StData {
    std::vector<uint8_t> bytes;                 // the whole file
    std::map<std::string, StEntry> tensors;     // sorted by name
    std::map<std::string, std::string> meta;    // "__metadata__"
};

// Load and validate a file.  Returns false with a message in err.
bool st_load(const std::string &path, StData &out, std::string &err);

// Bytes per element of a dtype code, 0 if unknown.
size_t st_elem_size(const std::string &dtype);

#endif
