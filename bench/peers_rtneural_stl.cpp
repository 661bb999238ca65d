// RTNeural's STL backend in the peer comparison: rtneural-stl/... (bench/peers_rtneural.hpp).
// Neither RTNEURAL_USE_EIGEN nor RTNEURAL_USE_XSIMD: plain loops over std::arrays, vectorised by
// the compiler or not.

#define RTNEURAL_NAMESPACE rtneural_stl
#include "peers_rtneural.hpp"
