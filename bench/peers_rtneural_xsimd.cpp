// RTNeural's xsimd backend (the xsimd rnnx uses: Debian libxsimd-dev) in the peer comparison:
// rtneural-xsimd/... (bench/peers_rtneural.hpp).

#include <xsimd/xsimd.hpp>

#if XSIMD_VERSION_MAJOR < 9
// RTNeural sums a batch's lanes with xsimd::reduce_add, xsimd 9's name for what xsimd 8 (Debian
// 12 has 8.1) calls hadd; its other calls exist in xsimd 8 as they are. Only this translation
// unit defines or calls xsimd::reduce_add.
namespace xsimd {
template <class T, class A>
T reduce_add(const batch<T, A>& b) noexcept {
  return hadd(b);
}
}  // namespace xsimd
#endif

#define RTNEURAL_USE_XSIMD 1
#define RTNEURAL_NAMESPACE rtneural_xsimd
#include "peers_rtneural.hpp"

static_assert(
    RTNEURAL_DEFAULT_ALIGNMENT >= xsimd::default_arch::alignment(),
    "RTNeural's xsimd backend stores whole batches to RTNEURAL_DEFAULT_ALIGNMENT buffers");
