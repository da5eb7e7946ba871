/* code_image.h: reading and writing the code image of a GPU model
 * (LtcModelDescriptor.code; the format is plan/gpu_abi.h's), shared by the
 * GPU code generators and the runtime's GPU devices so that both agree on
 * one reading of the format.
 *
 * Layout, as this file reads gpu_abi.h: the 8-byte LTC_CODE_MAGIC, then
 * the sections one after the other, each an LtcCodeSection header (16
 * bytes) and `len` bytes, padded with zeros to a multiple of 8.  The last
 * section's padding may be left out. */
#ifndef LTC_PLAN_CODE_IMAGE_H
#define LTC_PLAN_CODE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "plan/gpu_abi.h"

/* The first section of kind `kind` and arch `arch` in img[0..len): 1 with
 * *data, *data_len set; 0 when there is none; -1 + err when the image is
 * malformed (bad magic, a section running past the end). */
int code_image_find(const uint8_t *img, uint64_t len, uint32_t kind, uint32_t arch,
                    const uint8_t **data, uint64_t *data_len, char *err, size_t errlen);

/* Append a section to the image *img of *len bytes (malloc'ed; *img NULL
 * and *len 0 start a new image, magic included).  0, or -1 when out of
 * memory or the size overflows (the image is left as it was). */
int code_image_append(uint8_t **img, uint64_t *len, uint32_t kind, uint32_t arch,
                      const void *data, uint64_t data_len);

#endif
