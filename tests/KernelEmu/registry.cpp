// registry.cpp: kernels by name (filled by the generated EMU_KERNEL registrars when the library loads),
// the lookup with its error messages, and the C ABI functions that list kernels.
#include "registry.h"

#include "emu_api.h"
#include "emu_register.h"

#include <cstdarg>
#include <cstdio>
#include <map>

namespace emu {
namespace {
std::map<std::string, KernelInfo>& registry() {
    static std::map<std::string, KernelInfo> r;
    return r;
}
}  // namespace

std::string format(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

int put_error(char* err, int errlen, const std::string& msg) {
    if (err && errlen > 0) snprintf(err, (size_t)errlen, "%s", msg.c_str());
    return 1;
}

const KernelInfo* find_kernel(const char* name, std::string& why) {
    auto& reg = registry();
    auto it = reg.find(name);
    if (it == reg.end()) {
        std::string similar;
        const std::string key(name);
        const std::string stem = key.substr(0, key.find('_'));
        for (auto& [k, v] : reg)
            if (k.compare(0, stem.size(), stem) == 0 && similar.size() < 300) similar += (similar.empty() ? "" : ", ") + k;
        why = format("no kernel named '%s' in the kernel emulator (%zu kernels registered%s%s)", name, reg.size(),
                     similar.empty() ? "" : "; similar: ", similar.c_str());
        return nullptr;
    }
    const KernelInfo& k = it->second;
    if (!k.duplicate_of.empty()) {
        why = format("kernel '%s' is defined in both %s and %s", name, k.file.c_str(), k.duplicate_of.c_str());
        return nullptr;
    }
    if (!k.invoke) {
        why = format("kernel '%s' (%s) is compiled out under KERNEL_EMU (a GPU-only variant); the emulator runs its portable twin",
                     name, k.file.c_str());
        return nullptr;
    }
    return &k;
}

void register_kernel(const char* name, Invoke invoke, const char* signature, const char* file) {
    auto [it, fresh] = registry().try_emplace(name, KernelInfo{invoke, signature, file, ""});
    if (!fresh) it->second.duplicate_of = file;
}
}  // namespace emu

using namespace emu;

extern "C" {
int emu_kernel_signature(const char* name, char* out, int outlen) {
    std::string why;
    const KernelInfo* k = find_kernel(name, why);
    return k ? (put_error(out, outlen, k->signature), 0) : put_error(out, outlen, why);
}

int emu_kernel_list(char* out, int outlen) {
    std::string all;
    for (auto& [name, info] : registry()) all += name + "\n";
    if (out && outlen > 0) snprintf(out, (size_t)outlen, "%s", all.c_str());
    return (int)all.size() + 1;
}
}
