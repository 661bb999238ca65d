#pragma once
// A cell's step in plain double loops, read from the same declaration as the fused layer but
// sharing none of its code: the products as sums over PyTorch's row-major parameters, then
// the equations' graph interpreted unit by unit with std::exp and std::tanh (a two-stage
// cell: v of every unit first, then the products of v). Tests compare
// the layer with it; a user can check a new cell the same way.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::expr {

/// The state of reference_step: h and, for cells that carry one, c (H values each).
struct reference_state {
  std::vector<double> h, c;
};

/// One step of Cell (an rnnx::cell or a layer derived from one) on x (In values).
template <class Cell>
void reference_step(const Cell& layer, std::span<const double> x, reference_state& s) {
  using G = typename Cell::graph_type;
  constexpr std::size_t In = Cell::in_size, H = Cell::out_size, gates = Cell::equations::gates;
  s.h.resize(H);
  s.c.resize(H);
  std::vector<double> input(gates * H), hidden(gates * H), w_hh(gates * H * H), b_hh(gates * H);
  std::vector<std::vector<double>> vectors;
  layer.visit_parameters([&](std::string_view name, const auto& p) {
    constexpr bool matrix = std::remove_cvref_t<decltype(p)>::rank == 2;
    if (matrix && name == "weight_ih") {
      for (std::size_t r = 0; r < gates * H; ++r)
        for (std::size_t j = 0; j < In; ++j) input[r] += double(p.at(r, j)) * x[j];
    } else if (matrix && name == "weight_hh") {
      for (std::size_t r = 0; r < gates * H; ++r)
        for (std::size_t j = 0; j < H; ++j) w_hh[r * H + j] = double(p.at(r, j));
    } else if (name == "bias_ih") {
      for (std::size_t r = 0; r < gates * H; ++r) input[r] += double(p.at(r));
    } else if (name == "bias_hh") {
      for (std::size_t r = 0; r < gates * H; ++r) b_hh[r] = double(p.at(r));
    } else {
      std::vector<double>& v = vectors.emplace_back(H);
      for (std::size_t u = 0; u < H; ++u) v[u] = double(p.at(u));
    }
  });
  // The products of the gates [first, last) with `of` (h, or a two-stage cell's v).
  const auto products = [&](std::size_t first, std::size_t last, const std::vector<double>& of) {
    for (std::size_t r = first * H; r < last * H; ++r) {
      double sum = 0;
      for (std::size_t j = 0; j < H; ++j) sum += w_hh[r * H + j] * of[j];
      hidden[r] = sum + b_hh[r];
    }
  };
  std::vector<double> h_next(H), c_next(H), operand(H), value(G::size);
  // Every node of unit u (with second = false: only those that need no product of v).
  const auto evaluate = [&](std::size_t u, bool second) {
    for (std::size_t n = 0; n < G::size; ++n) {
      if (!second && G::second_stage[n]) continue;
      const node_info& i = G::nodes[n];
      const double a = i.a == none ? 0.0 : value[i.a], b = i.b == none ? 0.0 : value[i.b];
      switch (i.kind) {
        case op::input: value[n] = input[i.index * H + u]; break;
        case op::hidden: value[n] = hidden[i.index * H + u]; break;
        case op::state: value[n] = i.index == 0 ? s.h[u] : s.c[u]; break;
        case op::vector: value[n] = vectors[i.index][u]; break;
        case op::constant: value[n] = i.value; break;
        case op::add: value[n] = a + b; break;
        case op::sub: value[n] = a - b; break;
        case op::mul: value[n] = a * b; break;
        case op::neg: value[n] = -a; break;
        case op::sigmoid: value[n] = 1.0 / (1.0 + std::exp(-a)); break;
        case op::tanh: value[n] = std::tanh(a); break;
        case op::relu: value[n] = std::max(a, 0.0); break;
      }
    }
  };
  constexpr std::size_t G1 = first_stage_gates<G, gates>();  // the gates that read h
  products(0, G1, s.h);
  if constexpr (G::two_stage) {
    for (std::size_t u = 0; u < H; ++u) {
      evaluate(u, false);
      operand[u] = value[G::operand];
    }
    products(G1, gates, operand);
  }
  for (std::size_t u = 0; u < H; ++u) {
    evaluate(u, true);
    h_next[u] = value[G::output[0]];
    c_next[u] = value[G::output[G::output.size() - 1]];
  }
  s.h = h_next;
  if (G::has_cell_state) s.c = c_next;
}

}  // namespace rnnx::expr
