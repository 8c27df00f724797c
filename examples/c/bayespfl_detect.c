/*
 * bayespfl_detect — scores image files with libbayespfl through its C ABI (src/Native/include/bayespfl.h).
 *
 *   bayespfl_detect --clip clip.safetensors --head head.safetensors [--class NAME] [--device auto|cpu|cuda]
 *                   [--precision fp32|bf16] [--samples R] [--seed N] IMAGE...
 *
 * Prints one line per image (path, p_img, s_map, top_k, the map's maximum, milliseconds), then the first call's
 * latency (it pays for lazy set-up: kernel compilation on CUDA, the prompt samples) apart from the warm mean.
 * Exit status: 0 when every image was scored, 64 for a usage error, else the bpfl_status of the first failure.
 * Build: cc -std=c99 -Wall -Wextra -Werror -I src/Native/include examples/c/bayespfl_detect.c -L DIR -lbayespfl
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bayespfl.h"

#define EXIT_USAGE 64

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int usage(const char* why)
{
    fprintf(stderr, "bayespfl_detect: %s\nusage: bayespfl_detect --clip FILE --head FILE [--class NAME] "
                    "[--device auto|cpu|cuda] [--precision fp32|bf16] [--samples R] [--seed N] IMAGE...\n", why);
    return EXIT_USAGE;
}

/* Index of name in the NULL-terminated list, or -1. */
static int pick(const char* name, const char* const* names)
{
    int i;
    for (i = 0; names[i] != NULL; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

int main(int argc, char** argv)
{
    static const char* const devices[] = {"auto", "cpu", "cuda", NULL};
    static const char* const precisions[] = {"fp32", "bf16", NULL};
    const char *clip = NULL, *head = NULL, *class_name = "object";
    bpfl_options options;
    bpfl_detector* detector = NULL;
    float* map = NULL;
    int first_image = argc, i, status, exit_code = 0, scored = 0, map_size;
    double first_ms = 0, warm_ms = 0;

    bpfl_options_default(&options);
    for (i = 1; i < argc; i++) {
        const char* value = i + 1 < argc ? argv[i + 1] : NULL;
        if (argv[i][0] != '-') { first_image = i; break; }
        if (value == NULL) return usage("an option lacks its value");
        if (strcmp(argv[i], "--clip") == 0) clip = value;
        else if (strcmp(argv[i], "--head") == 0) head = value;
        else if (strcmp(argv[i], "--class") == 0) class_name = value;
        else if (strcmp(argv[i], "--device") == 0) options.device = pick(value, devices);
        else if (strcmp(argv[i], "--precision") == 0) options.precision = pick(value, precisions);
        else if (strcmp(argv[i], "--samples") == 0) options.samples = atoi(value);
        else if (strcmp(argv[i], "--seed") == 0) options.seed = strtoull(value, NULL, 10);
        else return usage("unknown option");
        i++;
    }
    if (clip == NULL || head == NULL) return usage("--clip and --head are required");
    if (first_image >= argc) return usage("no image given");
    /* An unknown --device or --precision stays -1: the library refuses it and says which field. */

    status = bpfl_detector_open(clip, head, &options, &detector);
    if (status != BPFL_OK) {
        fprintf(stderr, "bayespfl_detect: %s\n", bpfl_last_error());
        return status;
    }
    map_size = bpfl_detector_map_size(detector);
    map = (float*)malloc(sizeof(float) * (size_t)map_size * (size_t)map_size);
    if (map == NULL) {
        fprintf(stderr, "bayespfl_detect: out of memory for a %dx%d map\n", map_size, map_size);
        bpfl_detector_close(detector);
        return BPFL_ERR_INTERNAL;
    }
    printf("libbayespfl %s, map %dx%d, class %s\n", bpfl_version(), map_size, map_size, class_name);
    for (i = first_image; i < argc; i++) {
        bpfl_result result;
        double start = now_ms(), ms, peak;
        int j;
        memset(&result, 0, sizeof result);
        result.struct_size = sizeof result;
        status = bpfl_detect_file(detector, argv[i], class_name, &result, map, NULL, 0);
        ms = now_ms() - start;
        if (status != BPFL_OK) {
            fprintf(stderr, "bayespfl_detect: %s\n", bpfl_last_error());
            if (exit_code == 0) exit_code = status;
            continue;
        }
        for (peak = map[0], j = 1; j < map_size * map_size; j++)
            if (map[j] > peak) peak = map[j];
        printf("%s\tp_img=%.17g\ts_map=%.17g\ttop_k=%d\tmap_max=%.9g\tms=%.3f\n", argv[i], result.p_img, result.s_map,
               result.top_k, peak, ms);
        if (scored == 0) first_ms = ms; else warm_ms += ms;
        scored++;
    }
    if (scored > 0) printf("first call %.3f ms", first_ms);
    if (scored > 1) printf(", warm %.3f ms/image over %d images", warm_ms / (scored - 1), scored - 1);
    if (scored > 0) printf("\n");
    free(map);
    bpfl_detector_close(detector);
    return exit_code;
}
