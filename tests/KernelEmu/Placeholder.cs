// placeholder so the project builds until the emulator lands.
namespace BayesPfl.KernelEmu;
