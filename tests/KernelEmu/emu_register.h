// emu_register.h: turns an extern "C" kernel into a registry entry. build.sh generates, for every .cu, a file
// that includes the .cu inside an anonymous namespace and then names each kernel with EMU_KERNEL(name).
// The trampoline unpacks a cuLaunchKernel-style void** (one pointer per parameter, pointing at its value)
// into a typed call; the signature string lets the host check the argument count and that every pointer
// argument points into a live allocation.
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>

namespace emu {
using Invoke = void (*)(void** args);

__attribute__((visibility("hidden"))) void register_kernel(const char* name, Invoke invoke, const char* signature, const char* file);

template <typename T> constexpr char type_code() {
    if constexpr (std::is_pointer_v<T>) return 'p';
    else if constexpr (std::is_same_v<T, float>) return 'f';
    else if constexpr (std::is_same_v<T, double>) return 'd';
    else if constexpr (std::is_same_v<T, bool>) return 'b';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return std::is_signed_v<T> ? 'i' : 'u';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return std::is_signed_v<T> ? 'l' : 'L';
    else return 's';
}

template <typename Fn> struct Kernel;
template <typename... A> struct Kernel<void (*)(A...)> {
    template <void (*F)(A...), std::size_t... I> static void call(void** args, std::index_sequence<I...>) {
        F(*static_cast<std::remove_cv_t<A>*>(args[I])...);
    }
    template <void (*F)(A...)> static void invoke(void** args) { call<F>(args, std::index_sequence_for<A...>{}); }
    static constexpr char signature[sizeof...(A) + 1] = {type_code<std::remove_cv_t<A>>()..., '\0'};
};

struct Registrar {
    Registrar(const char* name, Invoke invoke, const char* signature, const char* file) { register_kernel(name, invoke, signature, file); }
};
}  // namespace emu

#define EMU_KERNEL(name, file)                                                                                 \
    static ::emu::Registrar emu_registrar_##name(#name, &::emu::Kernel<decltype(&name)>::invoke<&name>,        \
                                                  ::emu::Kernel<decltype(&name)>::signature, file);
#define EMU_KERNEL_UNAVAILABLE(name, file) static ::emu::Registrar emu_registrar_##name(#name, nullptr, "", file);
