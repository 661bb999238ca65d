#pragma once
// rnnx::cell<Equations, In, H>: a recurrent layer from its equations alone. Equations says
//   name        the layer's name in files and messages
//   gates       how many gate rows weight_ih and weight_hh hold (PyTorch order)
//   vectors     (optional) the names of its element-wise parameter vectors, p<0>, p<1>, ...
//   equations() next(h') or next(h', c') written in expr/nodes.hpp's terms
//   visit_attributes(f)   (optional) attributes beyond input_size and hidden_size
// and gets a layer: the fused step, sequences, N streams and bf16 weights (through
// recurrent_cell), training's forward and a backward derived from the same graph, parameters
// visited under PyTorch's names (weight_ih, weight_hh, bias_ih, bias_hh, then the vectors).
// docs/cells.md shows how to write one.

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/engine/recurrent_weights.hpp"
#include "rnnx/engine/training.hpp"
#include "rnnx/expr/evaluate.hpp"
#include "rnnx/expr/graph.hpp"
#include "rnnx/extent.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/hidden_state.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_cell.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

namespace expr {

/// The element-wise parameter names of Equations (none unless it declares `vectors`).
template <class Eq>
constexpr std::size_t vector_count() noexcept {
  if constexpr (requires { Eq::vectors.size(); })
    return Eq::vectors.size();
  else
    return 0;
}

/// Whether every leaf of kind k in graph G has an index below count, and every index below
/// count appears.
template <class G>
constexpr bool uses_exactly(op k, std::size_t count) noexcept {
  const std::size_t highest = G::highest_index(k);
  if (count == 0) return highest == none;
  if (highest == none || highest >= count) return false;
  for (std::size_t i = 0; i < count; ++i)
    if (G::leaf(k, i) == none) return false;
  return true;
}

/// The gates whose products read h: all of them, or those before the first U<k>(v).
template <class G, std::size_t gates>
constexpr std::size_t first_stage_gates() noexcept {
  for (std::size_t k = 0; k < gates; ++k) {
    const std::size_t n = G::leaf(op::hidden, k);
    if (n != none && G::nodes[n].reads_operand) return k;
  }
  return gates;
}
/// Whether U<k>(v) is used for exactly the gates from G1 on.
template <class G, std::size_t gates, std::size_t G1>
constexpr bool second_stage_last() noexcept {
  for (std::size_t k = 0; k < gates; ++k) {
    const std::size_t n = G::leaf(op::hidden, k);
    if (n != none && G::nodes[n].reads_operand != (k >= G1)) return false;
  }
  return true;
}

}  // namespace expr

template <class Eq, std::size_t In, std::size_t H, class T = float>
class cell : public recurrent_cell<cell<Eq, In, H, T>, T> {
  friend class recurrent_cell<cell, T>;
  using graph = expr::graph<decltype(Eq::equations())>;
  static constexpr std::size_t G = Eq::gates;
  static constexpr std::size_t P = expr::vector_count<Eq>();

  static_assert(In > 0 && H > 0, "rnnx::cell<Equations, In, H>: sizes must be positive");
  /// Whether a size is chosen at run time (rnnx::dyn): then the constructor takes the sizes.
  static constexpr bool sized_at_run_time = In == dyn || H == dyn;
  static_assert(is_supported_scalar_v<T>, "rnnx::cell: the scalar type must be float or double");
  static_assert(G > 0, "rnnx::cell: Equations::gates must be at least 1");
  static_assert(expr::uses_exactly<graph>(expr::op::input, G),
                "rnnx::cell: the equations must use W<k> for every gate k < Equations::gates "
                "and no other (a gate whose weights no equation reads would never be trained)");
  static_assert(expr::uses_exactly<graph>(expr::op::hidden, G) ||
                    expr::uses_exactly<graph>(expr::op::hidden, 0),
                "rnnx::cell: the equations must use U<k> for every gate k < Equations::gates "
                "and no other, or no U<k> at all (a cell without weight_hh, as IndRNN)");
  static_assert(expr::uses_exactly<graph>(expr::op::vector, P),
                "rnnx::cell: the equations must use p<j> for every name in Equations::vectors "
                "and no other");
  static_assert(graph::has_cell_state || graph::leaf(expr::op::state, 1) == expr::none,
                "rnnx::cell: the equations read c, so the step must return next(h', c')");
  static_assert(graph::single_operand,
                "rnnx::cell: every U<k>(v) must multiply the same vector v (one second stage)");
  static constexpr std::size_t first_reading_v = expr::first_stage_gates<graph, G>();
  static constexpr bool stages_in_order = expr::second_stage_last<graph, G, first_reading_v>();
  /// Gates [0, G1) multiply h, gates [G1, G) the intermediate v (two-stage cells). (G1 is G
  /// when the assertion below fails, so that it is the one error.)
  static constexpr std::size_t G1 = first_reading_v > 0 && stages_in_order ? first_reading_v : G;
  static_assert(stages_in_order,
                "rnnx::cell: the gates whose product reads an intermediate vector, U<k>(v), "
                "must come after every gate whose product reads h, U<k>");
  static_assert(!graph::two_stage || !stages_in_order || first_reading_v > 0,
                "rnnx::cell: U<k>(v) needs gates before it whose products read h, U<k>");
  static_assert(!graph::two_stage || !graph::second_stage[graph::operand],
                "rnnx::cell: the vector v of U<k>(v) cannot depend on a product of v");

  /// Whether the equations read W_hh h (else the layer has no weight_hh and bias_hh).
  static constexpr bool hidden_matrix = graph::leaf(expr::op::hidden, 0) != expr::none;
  static constexpr bool two_stage = graph::two_stage;
  using weights = recurrent_weights<T, G, In, H, hidden_matrix, G1>;
  using batch = simd::batch<T>;
  using values = expr::slice_values<graph, T>;
  template <std::size_t N>
  using node = std::integral_constant<std::size_t, N>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = sized_at_run_time ? 0 : simd::padded<T>(H);
  static constexpr bool has_c = graph::has_cell_state;
  static constexpr std::size_t h_in = graph::leaf(expr::op::state, 0);
  static constexpr std::size_t c_in = graph::leaf(expr::op::state, 1);
  static constexpr std::size_t h_out = graph::output[0];
  static constexpr std::size_t c_out = graph::output[graph::output.size() - 1];
  /// Values the training forward keeps per unit for backward (expr::graph's plan): the first
  /// G in the row's gate block (its projections are spent once the slice is evaluated, and
  /// backward overwrites it with the gate gradients only after reading them), the rest in
  /// tape::kept.
  static constexpr std::size_t kept = graph::plan.saved_count;
  static constexpr std::size_t kept_apart = kept > G ? kept - G : 0;
  /// One buffer for the gradients of W<k> and U<k> (see expr::graph).
  static constexpr bool shared_gate_gradients = !hidden_matrix || graph::gate_gradients_shared(G);
  /// Whether h reaches h' other than through W_hh (then its gradient has a direct path).
  static constexpr bool direct_h = h_in != expr::none;
  /// Values the first stage of a two-stage cell hands to the second, per unit.
  static constexpr std::size_t carried = graph::carried_count;

 public:
  using scalar = T;
  using equations = Eq;
  /// The equations' graph (expr/graph.hpp), for tools that read the cell (expr/reference.hpp).
  using graph_type = graph;
  /// Its weight matrices' layout and sizes (for copies: realtime/bf16_weights.hpp).
  using recurrent_weights_type = weights;
  template <class U>
  using rebind = cell<Eq, In, H, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = Eq::name;

  /// What one stream's step of a two-stage cell keeps between its stages: v, the second
  /// stage's operand, and the values the first stage hands to the second (per slice).
  struct fixed_stage_scratch {
    alignas(simd::alignment) std::array<T, Hs> v;
    alignas(simd::alignment) std::array<T, carried * Hs> kept;
  };
  struct dynamic_stage_scratch {
    simd::aligned_vector<T> v, kept;
  };
  using stage_scratch =
      std::conditional_t<sized_at_run_time, dynamic_stage_scratch, fixed_stage_scratch>;

  using hidden_type = std::conditional_t<has_c, hidden_cell_state<T, H>, hidden_state<T, H>>;
  /// The state of a cell with run-time sizes: h (and c), and the buffers its step works in,
  /// which a typed cell keeps on the stack (each stream's own, so that the model stays const
  /// and a step allocates nothing).
  struct dynamic_state : hidden_type {
    simd::aligned_vector<T> xg, hg;  // gate projections and sums: gate_stride values each
    stage_scratch stage;
  };
  using state = std::conditional_t<sized_at_run_time, dynamic_state, hidden_type>;

  cell() requires(!sized_at_run_time) = default;
  /// A cell of `in` inputs and `hidden` units, every parameter zero (each size must be the
  /// constant where the template gives one).
  cell(std::size_t in, std::size_t hidden) requires(sized_at_run_time) : w_(in, hidden) {
    if ((In != dyn && in != In) || (H != dyn && hidden != H) || in == 0 || hidden == 0)
      throw std::invalid_argument(std::string("rnnx::") + std::string(Eq::name) + "<" +
                                  std::to_string(in) + ", " + std::to_string(hidden) +
                                  ">: the sizes must be positive and match the type's constants");
    for (auto& p : vectors_)
      p = vector_type(hidden, 0, layout::dynamic_gate_rows<T>{1, 1, hidden, 0});
  }

  /// The sizes (in_size(), hidden_size(), ...), constants for a typed cell.
  constexpr const auto& shape() const noexcept { return w_.shape(); }

  /// The zero state, with a cell with run-time sizes' buffers allocated.
  state initial_state() const {
    state s{};
    if constexpr (sized_at_run_time) {
      const std::size_t hs = shape().padded_hidden();
      if constexpr (H == dyn) {
        s.h = simd::padded_array<T, dyn>(shape().hidden_size());
        if constexpr (has_c) s.c = simd::padded_array<T, dyn>(shape().hidden_size());
      }
      s.xg.assign(shape().gate_stride(), T(0));
      s.hg.assign(shape().gate_stride(), T(0));
      if constexpr (two_stage) {
        s.stage.v.assign(hs, T(0));
        s.stage.kept.assign(carried * hs, T(0));
      }
    }
    return s;
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape : engine::recurrence_tape<weights> {
    simd::aligned_vector<T> kept;              // rows: per slice, the kept values beyond G
    simd::aligned_vector<T> dgh;               // rows: hidden-side gate gradients, when not shared
    simd::aligned_vector<T> direct;            // batch rows: dL/dh of the path around W_hh
    simd::aligned_vector<T> initial_c, c, dc;  // c: rows of c'
    simd::aligned_vector<T> final_dc;          // batch rows: dL/dc_T from outside, when given
    bool final_dc_given = false;
    simd::aligned_vector<T> operand;  // rows: v, the second stage's operand
    simd::aligned_vector<T> handed;   // batch rows: the first stage's values for the second
    simd::aligned_vector<T> dv;       // dL/dv of one row
    /// Buffers for a batch (the layer concept's call: a typed cell knows its shape).
    void prepare(std::size_t batch_size, std::size_t steps) requires(!sized_at_run_time) {
      prepare(typename weights::shape_type{}, batch_size, steps);
    }
    void prepare(const typename weights::shape_type& of, std::size_t batch_size,
                 std::size_t steps) {
      engine::recurrence_tape<weights>::prepare(of, batch_size, steps);
      const auto hs = this->shape.padded_hidden();
      const std::size_t rows = batch_size * steps;
      if constexpr (two_stage) {
        this->grow(operand, rows * hs);
        this->grow(handed, batch_size * carried * hs);
        this->grow(dv, hs);
      }
      this->grow(kept, rows * kept_apart * hs);
      if constexpr (!shared_gate_gradients) this->grow(dgh, rows * this->shape.gate_stride());
      if constexpr (direct_h) this->grow(direct, batch_size * hs);
      if constexpr (has_c) {
        this->grow(initial_c, batch_size * hs);
        this->grow(c, rows * hs);
        this->grow(dc, batch_size * hs);
      }
    }
  };

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(shape(), batch_size, steps);
    const auto hs = shape().padded_hidden();
    for (std::size_t b = 0; b < batch_size; ++b) {
      std::copy_n(states[b].h.data(), hs, tp.initial_h.data() + b * hs);
      if constexpr (has_c) std::copy_n(states[b].c.data(), hs, tp.initial_c.data() + b * hs);
    }
    // Everything is read before anything is written: a kept value may go where a leaf (W<k>,
    // in the row's gate block) is still to be read from.
    const auto record = [&](const auto& v, std::size_t row, std::size_t slice, T* x) {
      std::array<batch, kept> keep;
      kernels::unroll<graph::size>([&](auto n) {
        if constexpr (graph::plan.saved[n]) keep[graph::plan.slot[n]] = v.get(n);
      });
      const std::size_t u = slice * V;
      const batch c_next = v.get(node<c_out>{}), h_next = v.get(node<h_out>{});
      kernels::unroll<kept>([&](auto k) { simd::store(kept_slot(tp, x, row, slice, k), keep[k]); });
      if constexpr (has_c) simd::store(tp.c.data() + row * hs + u, c_next);
      simd::store(ys + row * hs + u, h_next);
    };
    if constexpr (two_stage) {
      engine::forward_batch(
          w_, xs, batch_size, steps, tp, ys,
          [&](auto stage, std::size_t b, std::size_t row, std::size_t slice, T* x, const T* h,
              const batch* hg) {
            const std::size_t u = slice * V;
            T* handed = tp.handed.data() + (b * shape().slices() + slice) * carried * V;
            const T* c = previous_c(tp, batch_size, row, b) + u;
            if constexpr (decltype(stage)::value == 0) {
              first_stage(leaves<0>{x, hg, h, c, this, u, nullptr}, handed,
                          tp.operand.data() + row * hs + u);
            } else {
              record(expr::forward<graph, T, expr::stage::second>(
                         leaves<G1>{x, hg, h, c, this, u, handed}),
                     row, slice, x);
            }
          },
          tp.operand.data());
    } else {
      engine::forward_batch(w_, xs, batch_size, steps, tp, ys,
                            [&](std::size_t b, std::size_t row, std::size_t slice, T* x, const T* h,
                                const batch* hg) {
                              const std::size_t u = slice * V;
                              const leaves<0> from{
                                  x,    hg, h,      previous_c(tp, batch_size, row, b) + u,
                                  this, u,  nullptr};
                              record(expr::forward<graph, T>(from), row, slice, x);
                            });
    }
    for (std::size_t b = 0; b < batch_size; ++b) {
      const std::size_t last = (steps - 1) * batch_size + b;
      std::copy_n(ys + last * hs, hs, states[b].h.data());
      if constexpr (has_c) std::copy_n(tp.c.data() + last * hs, hs, states[b].c.data());
    }
  }

  /// Backward through the steps forward_train recorded: reverse mode over the equations'
  /// graph, slice by slice (expr::backward), with dL/dh' = dy + W_hh^T (hidden-side gate
  /// gradients of the step after) + dL/dh through any path around W_hh.
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, cell& grad, T* dxs) const {
    const auto hs = shape().padded_hidden();
    engine::transpose_into(w_, tp);
    if constexpr (has_c) {
      if (tp.final_dc_given) {
        std::copy_n(tp.final_dc.data(), batch_size * hs, tp.dc.data());
        tp.final_dc_given = false;
      } else {
        std::fill_n(tp.dc.data(), batch_size * hs, T(0));
      }
    }
    if constexpr (direct_h) std::fill_n(tp.direct.data(), batch_size * hs, T(0));
    engine::backward_batch(
        tp, batch_size, steps, [&](std::size_t t, std::size_t b, std::size_t row) {
          T* dgx = tp.gates.data() + row * shape().gate_stride();
          T* dgh = shared_gate_gradients ? dgx : tp.dgh.data() + row * shape().gate_stride();
          const T* h_prev = engine::previous_h(tp, ys, batch_size, t, b);
          const T* c_prev = previous_c(tp, batch_size, row, b);
          const auto slice_backward = [&](auto second_only, std::size_t slice) {
            const std::size_t u = slice * V;
            values v, adj;
            expr::recall<graph, T>(
                v, leaves<0>{nullptr, nullptr, h_prev + u, c_prev + u, this, u, nullptr},
                [&](auto slot) {
                  return simd::load(kept_slot(tp, dgx + slice * G * V, row, slice, slot));
                },
                [&](auto n) {
                  if constexpr (n == h_out)
                    return simd::load(ys + row * hs + u);
                  else
                    return simd::load(tp.c.data() + row * hs + u);
                });
            batch dh = simd::load(dys + row * hs + u) + simd::load(tp.dh.data() + b * hs + u);
            if constexpr (direct_h) dh = dh + simd::load(tp.direct.data() + b * hs + u);
            expr::backward<graph, T, decltype(second_only)::value>(v, adj, [&](auto n) {
              if constexpr (n == graph::operand)
                return simd::load(tp.dv.data() + u);
              else if constexpr (has_c && n == h_out && n == c_out)
                return dh + simd::load(tp.dc.data() + b * hs + u);
              else if constexpr (n == h_out)
                return dh;
              else
                return simd::load(tp.dc.data() + b * hs + u);
            });
            if constexpr (second_only) {
              kernels::unroll<G - G1>([&](auto j) {
                simd::store(dgh + shape().hidden_row(G1 + j, slice),
                            adj[graph::leaf(expr::op::hidden, G1 + j)]);
              });
              return;
            }
            kernels::unroll<G>([&](auto k) {
              simd::store(dgx + (slice * G + k) * V, adj[graph::leaf(expr::op::input, k)]);
              if constexpr (!shared_gate_gradients && hidden_matrix && k < G1)
                simd::store(dgh + shape().hidden_row(k, slice),
                            adj[graph::leaf(expr::op::hidden, k)]);
            });
            if constexpr (direct_h) simd::store(tp.direct.data() + b * hs + u, adj[h_in]);
            if constexpr (has_c && c_in != expr::none)
              simd::store(tp.dc.data() + b * hs + u, adj[c_in]);
            else if constexpr (has_c)
              simd::store(tp.dc.data() + b * hs + u, batch(T(0)));
            kernels::unroll<P>([&](auto j) {
              T* g = grad.vectors_[j].data.data() + u;
              simd::store(g, simd::load(g) + adj[graph::leaf(expr::op::vector, j)]);
            });
          };
          // A two-stage cell: the second stage's gradients first, then dL/dv = W_hh^T of them
          // (its stage), then the rest.
          if constexpr (two_stage) {
            for (std::size_t slice = 0; slice < shape().slices(); ++slice)
              slice_backward(std::true_type{}, slice);
            engine::operand_gradient(tp, dgh, tp.dv.data());
          }
          for (std::size_t slice = 0; slice < shape().slices(); ++slice)
            slice_backward(std::false_type{}, slice);
          return static_cast<const T*>(dgh);
        });
    engine::accumulate_gradients(tp, tp.gates.data(),
                                 shared_gate_gradients ? tp.gates.data() : tp.dgh.data(), xs, ys,
                                 batch_size, steps, grad.w_, dxs, tp.operand.data());
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    const auto hs = shape().padded_hidden();
    engine::give_final_h_gradient(tp, batch_size, [&](std::size_t b) { return d[b].h.data(); });
    if constexpr (has_c) {
      tape::grow(tp.final_dc, batch_size * hs);
      for (std::size_t b = 0; b < batch_size; ++b)
        std::copy_n(d[b].c.data(), hs, tp.final_dc.data() + b * hs);
      tp.final_dc_given = true;
    }
  }
  /// dL/d(initial state) of each sequence, after backward: through W_hh and around it.
  void initial_state_gradients(const tape& tp, state* d, std::size_t batch_size) const {
    const auto hs = shape().padded_hidden();
    for (std::size_t b = 0; b < batch_size; ++b) {
      for (std::size_t u = 0; u < hs; ++u)
        d[b].h.data()[u] = direct_h ? tp.dh[b * hs + u] + tp.direct[b * hs + u] : tp.dh[b * hs + u];
      if constexpr (has_c) std::copy_n(tp.dc.data() + b * hs, hs, d[b].c.data());
    }
  }

  template <class F>
  static void visit_attributes(F&& f) requires(!sized_at_run_time) {
    f("input_size", In);
    f("hidden_size", H);
    if constexpr (requires { Eq::visit_attributes(f); }) Eq::visit_attributes(f);
  }
  template <class F>
  void visit_attributes(F&& f) const requires(sized_at_run_time) {
    f("input_size", shape().in_size());
    f("hidden_size", shape().hidden_size());
    if constexpr (requires { Eq::visit_attributes(f); }) Eq::visit_attributes(f);
  }
  /// What describe(d) (layers/layer.hpp) tells tools: a cell (bidirectional can wrap it), the
  /// header and C++ template Eq names (header, cpp_template; rnnx::<name> by default), its gate
  /// rows (Eq::gate_names), its parameters, and anything Eq::describe(d) adds.
  template <class D>
  static void describe(D& d) {
    d.cell();
    if constexpr (requires { Eq::header; }) d.header(Eq::header);
    if constexpr (requires { Eq::cpp_template; }) d.cpp_template(Eq::cpp_template);
    if constexpr (requires { Eq::gate_names; }) d.gate_names(Eq::gate_names);
    d.input("input_size");
    d.output("hidden_size");
    weights::describe(d);
    if constexpr (P > 0)
      for (std::size_t j = 0; j < P; ++j) d.parameter(Eq::vectors[j], "hidden_size");
    if constexpr (requires { Eq::describe(d); }) Eq::describe(d);
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }

  friend constexpr bool operator==(const cell&, const cell&) = default;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    weights::visit(self.w_, f);
    if constexpr (P > 0)
      for (std::size_t j = 0; j < P; ++j) f(Eq::vectors[j], self.vectors_[j]);
  }

  /// Where a slice's leaves come from: x its gate rows of W_ih x + b_ih, hg its W_hh h + b_hh
  /// (gates from FirstGate on) in registers, h and c its units of the state before the step,
  /// handed the values the first stage of a two-stage cell hands to the second.
  template <std::size_t FirstGate>
  struct leaves {
    const T* x;
    const batch* hg;
    const T* h;
    const T* c;
    const cell* self;
    std::size_t u;
    const T* handed;
    template <std::size_t K>
    [[gnu::always_inline]] batch input(std::integral_constant<std::size_t, K>) const noexcept {
      return simd::load(x + K * V);
    }
    template <std::size_t K>
    [[gnu::always_inline]] batch hidden(std::integral_constant<std::size_t, K>) const noexcept {
      static_assert(K >= FirstGate);
      return hg[K - FirstGate];
    }
    template <std::size_t J>
    [[gnu::always_inline]] batch carried(std::integral_constant<std::size_t, J>) const noexcept {
      return simd::load(handed + J * V);
    }
    template <std::size_t J>
    [[gnu::always_inline]] batch state(std::integral_constant<std::size_t, J>) const noexcept {
      return simd::load(J == 0 ? h : c);
    }
    template <std::size_t J>
    [[gnu::always_inline]] batch vector(std::integral_constant<std::size_t, J>) const noexcept {
      return simd::load(self->vectors_[J].raw() + u);
    }
  };

  /// Where kept value `slot` of a slice lives (gates: the slice's block of the row's gates).
  static T* kept_slot(tape& tp, T* gates, std::size_t row, std::size_t slice,
                      std::size_t slot) noexcept {
    return slot < G ? gates + slot * V
                    : tp.kept.data() + (row * tp.shape.slices() + slice) * kept_apart * V +
                          (slot - G) * V;
  }

  /// c before the step of row `row` (sequence b) of a training batch.
  static const T* previous_c(const tape& tp, std::size_t batch_size, std::size_t row,
                             std::size_t b) noexcept {
    if constexpr (has_c) {
      const auto hs = tp.shape.padded_hidden();
      return row < batch_size ? tp.initial_c.data() + b * hs
                              : tp.c.data() + (row - batch_size) * hs;
    } else {
      return tp.initial_h.data();  // never read: the equations have no c
    }
  }

  /// h' (into y) and c' of one slice of units from its gates' projections.
  [[gnu::always_inline]] void update(std::size_t slice, const T* x, const batch* hg, state& s,
                                     T* y) const noexcept {
    const std::size_t u = slice * V;
    const T* c = nullptr;
    if constexpr (has_c) c = s.c.data() + u;
    const leaves<0> from{x, hg, s.h.data() + u, c, this, u, nullptr};
    write(expr::forward<graph, T>(from), s, y + u, u);
  }
  /// update of a two-stage cell, for stage 0 (v and the values handed on into scratch) or
  /// stage 1 (h' and c').
  template <std::size_t Stage>
  [[gnu::always_inline]] void update(std::integral_constant<std::size_t, Stage>, std::size_t slice,
                                     const T* x, const batch* hg, state& s, T* y,
                                     stage_scratch& scratch) const noexcept {
    const std::size_t u = slice * V;
    const T* c = nullptr;
    if constexpr (has_c) c = s.c.data() + u;
    T* handed = scratch.kept.data() + slice * carried * V;
    if constexpr (Stage == 0) {
      first_stage(leaves<0>{x, hg, s.h.data() + u, c, this, u, nullptr}, handed,
                  scratch.v.data() + u);
    } else {
      const leaves<G1> from{x, hg, s.h.data() + u, c, this, u, handed};
      write(expr::forward<graph, T, expr::stage::second>(from), s, y + u, u);
    }
  }
  /// The first stage of a slice: v into `v`, the values for the second stage into `handed`.
  [[gnu::always_inline]] static void first_stage(const leaves<0>& from, T* handed, T* v) noexcept {
    const auto f = expr::forward<graph, T, expr::stage::first>(from);
    std::array<batch, carried> hand;
    kernels::unroll<graph::size>([&](auto n) {
      if constexpr (graph::carried[n]) hand[graph::carried_slot[n]] = f.get(n);
    });
    const batch operand = f.get(node<graph::operand>{});
    kernels::unroll<carried>([&](auto k) { simd::store(handed + k * V, hand[k]); });
    simd::store(v, operand);
  }
  template <class Values>
  [[gnu::always_inline]] static void write(const Values& v, state& s, T* y,
                                           std::size_t u) noexcept {
    const batch c_next = v.get(node<c_out>{}), h_next = v.get(node<h_out>{});
    if constexpr (has_c) simd::store(s.c.data() + u, c_next);
    simd::store(y, h_next);
  }

  using vector_type =
      std::conditional_t<sized_at_run_time, dynamic_parameter<T, layout::dynamic_gate_rows<T>>,
                         vector_parameter<T, H>>;
  weights w_;
  [[no_unique_address]] std::array<vector_type, P> vectors_{};
};

}  // namespace RNNX_NAMESPACE
