#pragma once
// What the hand-written Eigen peers (bench/peers_eigen.cpp, bench/peers_eigen_batch.cpp) share:
// PyTorch's row-major parameters as Eigen's default column-major matrices, and the sigmoid.

#include <Eigen/Dense>
#include <cstddef>
#include <vector>

namespace peers_eigen {

inline Eigen::MatrixXf to_matrix(const std::vector<float>& row_major, std::size_t rows,
                                 std::size_t cols) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      row_major.data(), Eigen::Index(rows), Eigen::Index(cols));
}

inline Eigen::VectorXf to_vector(const std::vector<float>& v) {
  return Eigen::Map<const Eigen::VectorXf>(v.data(), Eigen::Index(v.size()));
}

/// 1 / (1 + exp(-a)) with Eigen's vectorised exp.
template <class Derived>
auto sigmoid(const Eigen::ArrayBase<Derived>& a) {
  return (1.0f + (-a).exp()).inverse();
}

}  // namespace peers_eigen
