/*
 * bayespfl.h — C ABI of libbayespfl.so, the Bayes-PFL zero-shot anomaly detector (BayesPfl.Native, NativeAOT).
 *
 * Conventions
 * - Every entry point that can fail returns a bpfl_status (BPFL_OK = 0). On failure bpfl_last_error() gives a
 *   UTF-8 message naming the argument, file or tensor at fault. No exception, abort or exit() crosses this
 *   boundary; NULL pointers, bad sizes, unknown enum values and closed or foreign handles are reported as
 *   BPFL_ERR_INVALID_ARGUMENT.
 * - Structs that carry options or results start with uint32_t struct_size = sizeof(the struct) as the caller
 *   compiled it, so that later versions can add fields at the end. A size this library does not know is
 *   refused with BPFL_ERR_INVALID_ARGUMENT.
 * - No memory is allocated across the boundary: output buffers belong to the caller. Strings returned by
 *   the library (bpfl_version, bpfl_last_error) are owned by it and must not be freed.
 * - Threads: a handle may be used from any thread. Calls on one handle are serialised by a per-handle lock
 *   (a detector runs one image batch at a time); open one detector per thread to run in parallel.
 *   bpfl_detector_close waits for a call in progress on that handle.
 *
 * C89/C99: the header uses only <stddef.h>/<stdint.h> types and plain structs.
 */
#ifndef BAYESPFL_H
#define BAYESPFL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version bpfl_version() returns for this header. */
#define BPFL_VERSION "0.1.0"

/* Status codes (return values). */
typedef enum bpfl_status {
    BPFL_OK = 0,
    BPFL_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, bad size or stride, unknown enum value, closed handle */
    BPFL_ERR_IO = 2,               /* a file is missing or unreadable */
    BPFL_ERR_FORMAT = 3,           /* corrupt or mis-shaped weights, an undecodable or corrupt image */
    BPFL_ERR_DEVICE = 4,           /* CUDA requested but unavailable, a CUDA or kernel-compile error */
    BPFL_ERR_INTERNAL = 5          /* anything else (out of memory, a bug): the message says what */
} bpfl_status;

/* Where the detector runs (bpfl_options.device). */
typedef enum bpfl_device {
    BPFL_DEVICE_AUTO = 0, /* CUDA when a device is present, else the CPU */
    BPFL_DEVICE_CPU = 1,
    BPFL_DEVICE_CUDA = 2  /* BPFL_ERR_DEVICE from bpfl_detector_open when there is no CUDA device */
} bpfl_device;

/* Numeric mode of the CLIP towers (bpfl_options.precision); the head and the maps are always fp32. */
typedef enum bpfl_precision {
    BPFL_PRECISION_FP32 = 0, /* parity with PyTorch */
    BPFL_PRECISION_BF16 = 1  /* bf16 tower weights and GEMM/attention operands, fp32 accumulation */
} bpfl_precision;

/* Detector settings; fill with bpfl_options_default, then change fields. */
typedef struct bpfl_options {
    uint32_t struct_size; /* sizeof(bpfl_options) */
    int32_t device;       /* a bpfl_device */
    int32_t precision;    /* a bpfl_precision */
    int32_t samples;      /* flow samples per distribution (R), > 0; default 10 */
    uint64_t seed;        /* seed of the engine's Gaussian stream; default 333 */
    int32_t top_k;        /* k of s_map; 0 = from the class name (20 for textures, else 2000) */
} bpfl_options;

/* Scores of one image. */
typedef struct bpfl_result {
    uint32_t struct_size; /* set by the caller: sizeof(bpfl_result) */
    double p_img;         /* image-level anomaly probability */
    double s_map;         /* mean of the top_k largest values of the unsmoothed anomaly map */
    int32_t top_k;        /* k used for s_map */
    int32_t map_size;     /* side of the square map (the model's input size) */
    int32_t image_width;  /* the input image's size */
    int32_t image_height;
} bpfl_result;

/* An open detector (opaque). */
typedef struct bpfl_detector bpfl_detector;

/* The library's version, e.g. "0.1.0" (static storage). */
const char* bpfl_version(void);

/*
 * The message of the last failed call on the calling thread (UTF-8, owned by the library, valid until the
 * next failed call on this thread); "" if none failed yet. Successful calls leave it unchanged.
 */
const char* bpfl_last_error(void);

/* Fills *options with the defaults (auto device, fp32, 10 samples, seed 333, top_k from the class name). */
int bpfl_options_default(bpfl_options* options);

/*
 * Loads the CLIP file (`bayespfl convert` output) and the Bayes-PFL head file and opens a detector.
 * options may be NULL (defaults). On success *out is the handle; on failure *out is NULL.
 */
int bpfl_detector_open(const char* clip_path, const char* head_path, const bpfl_options* options,
                       bpfl_detector** out);

/* Frees the detector; NULL and already closed handles are ignored. */
void bpfl_detector_close(bpfl_detector* detector);

/* Side of the square anomaly map (the model's input size, 518 for ViT-L/14 at 518 px); -(a bpfl_status) on error. */
int bpfl_detector_map_size(const bpfl_detector* detector);

/*
 * Scores one 8-bit RGB image in memory: row y starts at rgb + y * row_stride_bytes and holds width RGB
 * triplets (row_stride_bytes >= 3 * width). class_name names the object category for the prompt ("bottle";
 * "object" for no known category); UTF-8.
 *
 * Output buffers (caller-owned, either may be NULL to skip it):
 * - map: map_size * map_size floats, row-major: the anomaly map after the sigma-8 Gaussian blur, the map the
 *   command line reports and draws (s_map is computed on the map before the blur).
 * - map_at_image_size: width * height floats, row-major: the same blurred map resized bilinearly to the image.
 */
int bpfl_detect_rgb8(bpfl_detector* detector, const uint8_t* rgb, int width, int height, int row_stride_bytes,
                     const char* class_name, bpfl_result* result, float* map, float* map_at_image_size);

/*
 * Reads only the header of an image file: its size in pixels (to size map_at_image_size for bpfl_detect_file).
 * Unknown formats, empty and oversized images are BPFL_ERR_FORMAT, a missing file BPFL_ERR_IO.
 */
int bpfl_image_file_size(const char* image_path, int* width, int* height);

/*
 * As bpfl_detect_rgb8 on an image file (PNG, JPEG, BMP, TIFF, GIF, TGA, PBM, WebP; grey is replicated, alpha
 * dropped). map_at_image_size, when not NULL, holds map_at_image_size_capacity floats; fewer than the image's
 * width * height is BPFL_ERR_INVALID_ARGUMENT, found from the file's header before the model runs.
 */
int bpfl_detect_file(bpfl_detector* detector, const char* image_path, const char* class_name, bpfl_result* result,
                     float* map, float* map_at_image_size, size_t map_at_image_size_capacity);

#ifdef __cplusplus
}
#endif

#endif /* BAYESPFL_H */
