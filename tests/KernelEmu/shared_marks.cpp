// shared_marks.cpp: compiled twice, with -DEMU_MARK=begin and -DEMU_MARK=end, and linked around the kernel
// objects, whose only thread-local data are their static __shared__ arrays. The linker lays the .tbss
// sections out in command-line order, so [shared_begin, shared_end) spans every static __shared__ array
// of the library; runtime.cpp fills that range with 0xFF (NaN) before a launch, so a kernel that reads
// shared memory it never wrote sees NaN, as with dynamic shared memory.
#define EMU_CONCAT2(a, b) a##b
#define EMU_CONCAT(a, b) EMU_CONCAT2(a, b)

namespace emu {
__attribute__((visibility("hidden"))) __thread char EMU_CONCAT(shared_, EMU_MARK)[1];
}  // namespace emu
