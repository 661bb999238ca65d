// RTNeural's Eigen backend (Debian libeigen3-dev, the Eigen of peers_eigen.cpp) in the peer
// comparison: rtneural-eigen/... (bench/peers_rtneural.hpp).

#define RTNEURAL_USE_EIGEN 1
#define RTNEURAL_NAMESPACE rtneural_eigen
// The widest alignment RTNeural's Eigen backend accepts (8, 16 or 32); Eigen reads the 32-byte
// aligned data correctly with AVX-512's 64-byte packets too.
#define RTNEURAL_DEFAULT_ALIGNMENT 32
// RTNeural's Eigen layers keep their weights in fixed-size matrices (LSTM(1 -> 256):
// 1024 x 258 floats, 1.06 MB), which Eigen's default limit of 128 KB per fixed-size object
// refuses from H = 128 on; the models live on the heap here (peers_rtneural.hpp's load). The
// limit also decides alloca or malloc for some of Eigen's temporaries: no Eigen function is
// defined both here and in peers_eigen*.cpp, which keep the default (checked with nm on the
// object files), so no definition the linker merges was compiled with both limits.
#define EIGEN_STACK_ALLOCATION_LIMIT (2 * 1024 * 1024)
#include "peers_rtneural.hpp"
