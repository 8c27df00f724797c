// registry.h: what the launch path needs from the kernel registry, plus the message helpers both share.
#pragma once
#include "emu_register.h"

#include <string>

namespace emu {
struct KernelInfo {
    Invoke invoke;  // null: compiled out under KERNEL_EMU
    std::string signature, file, duplicate_of;
};

// The kernel to launch, or null with the reason (unknown name, defined twice, compiled out) in why.
__attribute__((visibility("hidden"))) const KernelInfo* find_kernel(const char* name, std::string& why);
__attribute__((visibility("hidden"))) std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Writes msg into the caller's error buffer; returns 1 (the failure status).
__attribute__((visibility("hidden"))) int put_error(char* err, int errlen, const std::string& msg);
}  // namespace emu
