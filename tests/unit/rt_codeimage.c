/* rt_codeimage.c: the GPU code image (plan/code_image.c): sections found
 * by kind and arch after padding, the last section's padding optional,
 * and every truncation or bad length refused rather than read past. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "plan/code_image.h"

Test(code_image, sections_round_trip) {
    uint8_t *img = NULL;
    uint64_t n = 0;
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_OPENCL_C, 0, "kernel", 6), 0);
    cr_assert_eq(n, 8 + 16 + 8, "magic, header, 6 bytes padded to 8");
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_CUDA_CUBIN, 90 | LTC_ARCH_A, "0123456789abcdef", 16), 0);
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_CUDA_PTX, 80, "", 0), 0);
    cr_assert_eq(n % 8, 0);
    const uint8_t *d;
    uint64_t dl;
    char err[200];
    cr_assert_eq(code_image_find(img, n, LTC_CODE_OPENCL_C, 0, &d, &dl, err, sizeof err), 1, "%s", err);
    cr_assert(dl == 6 && memcmp(d, "kernel", 6) == 0);
    cr_assert_eq(code_image_find(img, n, LTC_CODE_CUDA_CUBIN, 90 | LTC_ARCH_A, &d, &dl, err, sizeof err), 1);
    cr_assert(dl == 16 && memcmp(d, "0123456789abcdef", 16) == 0);
    cr_assert_eq(code_image_find(img, n, LTC_CODE_CUDA_CUBIN, 90, &d, &dl, err, sizeof err), 0, "sm_90 is not sm_90a");
    cr_assert_eq(code_image_find(img, n, LTC_CODE_CUDA_PTX, 80, &d, &dl, err, sizeof err), 1);
    cr_assert_eq(dl, 0);
    cr_assert_eq(code_image_find(img, n, LTC_CODE_MSL, 0, &d, &dl, err, sizeof err), 0);
    free(img);
}

Test(code_image, last_padding_optional_and_damage_refused) {
    uint8_t *img = NULL;
    uint64_t n = 0;
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_CUDA_PTX, 80, "abc", 3), 0);
    cr_assert_eq(code_image_append(&img, &n, LTC_CODE_OPENCL_C, 0, "xyz", 3), 0);
    const uint8_t *d;
    uint64_t dl;
    char err[200];
    /* without the last section's 5 padding bytes */
    cr_assert_eq(code_image_find(img, n - 5, LTC_CODE_OPENCL_C, 0, &d, &dl, err, sizeof err), 1, "%s", err);
    /* every shorter image: found only when the section is whole, never a read past the end */
    for (uint64_t k = 0; k < n - 5; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, img, k);
        int rc = code_image_find(k ? cut : NULL, k, LTC_CODE_OPENCL_C, 0, &d, &dl, err, sizeof err);
        cr_assert(rc == -1 || rc == 0, "truncated to %llu: %d", (unsigned long long)k, rc);
        free(cut);
    }
    img[16] = 0xff, img[17] = 0xff;                 /* the first section's length (bytes 16..24): 0xffff */
    cr_assert_eq(code_image_find(img, n, LTC_CODE_OPENCL_C, 0, &d, &dl, err, sizeof err), -1);
    cr_assert(strstr(err, "claims"), "%s", err);
    img[0] ^= 1;
    cr_assert_eq(code_image_find(img, n, LTC_CODE_OPENCL_C, 0, &d, &dl, err, sizeof err), -1);
    cr_assert(strstr(err, "bad magic"), "%s", err);
    free(img);
}
