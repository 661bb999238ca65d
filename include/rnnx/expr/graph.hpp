#pragma once
// A cell's equations as a graph the compiler can read: every distinct term once (a term used
// twice, such as c' in  h' = o * tanh(c')  and in the next step, is one node, since equal
// types are equal values), children before parents, and a table of plain values that the
// analyses below walk with ordinary constexpr loops:
//   differentiable   the node depends on something with a gradient
//   needed           backward reads the node's value (a product's other factor, an
//                    activation's output)
//   saved            the training forward stores the value for backward: a needed value that
//                    backward can neither load (state, parameters, constants, the step's
//                    outputs, which the tape keeps anyway) nor recompute from such values
//                    with one arithmetic operation per node
//   first_contribution  which parent term starts a node's adjoint sum (the rest add to it)
// A cell whose products read an intermediate vector v (U<k>(v), as the minimal gated unit's
// U_n (f * h)) is a graph of two stages: v and everything it needs come from W_hh h, the
// rest (second_stage) from W_hh v, which needs every unit of v first. The graph says what
// each stage evaluates and which values the first hands to the second (carried).

#include <array>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "rnnx/expr/nodes.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::expr {

inline constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

template <class... N>
struct node_list {};

namespace detail {

template <class L, class N>
struct append;
template <class... Ns, class N>
struct append<node_list<Ns...>, N> {
  using type = node_list<Ns..., N>;
};

template <class L, class N>
inline constexpr bool contains = false;
template <class... Ns, class N>
inline constexpr bool contains<node_list<Ns...>, N> = (std::is_same_v<Ns, N> || ...);

template <bool Seen, class L, class N>
struct collect;
template <class L, class Args>
struct collect_args;
template <class L>
struct collect_args<L, children<>> {
  using type = L;
};
template <class L, class A, class... Rest>
struct collect_args<L, children<A, Rest...>> {
  using type = typename collect_args<typename collect<contains<L, A>, L, A>::type,
                                     children<Rest...>>::type;
};
/// L with N appended after its children, unless L holds N already (post-order, each once).
template <bool Seen, class L, class N>
struct collect {
  using type = L;
};
template <class L, class N>
struct collect<false, L, N> {
  using type = typename append<typename collect_args<L, typename N::args>::type, N>::type;
};

template <class L, class Outputs>
struct collect_outputs;
template <class L>
struct collect_outputs<L, outputs<>> {
  using type = L;
};
template <class L, class O, class... Rest>
struct collect_outputs<L, outputs<O, Rest...>> {
  using type =
      typename collect_outputs<typename collect<contains<L, O>, L, O>::type, outputs<Rest...>>::type;
};

template <class N, class... Ns>
constexpr std::size_t position() noexcept {
  constexpr bool same[] = {std::is_same_v<N, Ns>...};
  for (std::size_t k = 0; k < sizeof...(Ns); ++k)
    if (same[k]) return k;
  return none;
}

}  // namespace detail

/// One node of the table: its operation, its children's positions, its gate, state or
/// parameter index, its constant's value.
struct node_info {
  op kind = op::constant;
  std::size_t a = none, b = none;
  std::size_t index = 0;
  int value = 0;
  bool reads_operand = false;  // U<k>(v): a product of the second stage
};

constexpr bool is_leaf(op k) noexcept {
  return k == op::input || k == op::hidden || k == op::state || k == op::vector ||
         k == op::constant;
}
constexpr bool is_arithmetic(op k) noexcept {
  return k == op::add || k == op::sub || k == op::mul || k == op::neg;
}

namespace detail {

/// The vector v of U<k>(v), or void (for U<k> itself: h).
template <class N>
struct operand_of {
  using type = void;
};
template <std::size_t K, class Of>
struct operand_of<hidden_projection<K, Of>> {
  using type = std::conditional_t<std::is_same_v<Of, state_vector<0>>, void, Of>;
};
template <class... Ts>
struct first_non_void {
  using type = void;
};
template <class T, class... Ts>
struct first_non_void<T, Ts...> {
  using type = std::conditional_t<std::is_void_v<T>, typename first_non_void<Ts...>::type, T>;
};

template <class N, class... Ns>
constexpr node_info info() noexcept {
  node_info i;
  i.kind = N::kind;
  if constexpr (requires { N::index; }) i.index = N::index;
  if constexpr (requires { N::value; }) i.value = N::value;
  i.reads_operand = !std::is_void_v<typename operand_of<N>::type>;
  [&]<class... A>(children<A...>) {
    const std::size_t at[] = {position<A, Ns...>()..., none, none};
    i.a = at[0];
    i.b = at[1];
  }(typename N::args{});
  return i;
}

template <std::size_t S, std::size_t O>
constexpr bool is_output(const std::array<std::size_t, O>& output, std::size_t n) noexcept {
  for (std::size_t o : output)
    if (o == n) return true;
  return false;
}

template <std::size_t S>
constexpr std::array<bool, S> differentiable(const std::array<node_info, S>& nodes) noexcept {
  std::array<bool, S> d{};
  for (std::size_t n = 0; n < S; ++n) {
    const node_info& i = nodes[n];
    d[n] = is_leaf(i.kind) ? i.kind != op::constant : d[i.a] || (i.b != none && d[i.b]);
  }
  return d;
}

template <std::size_t S>
constexpr std::array<bool, S> needed(const std::array<node_info, S>& nodes) noexcept {
  const std::array<bool, S> d = differentiable(nodes);
  std::array<bool, S> need{};
  for (std::size_t n = 0; n < S; ++n) {
    const node_info& i = nodes[n];
    if (i.kind == op::mul) {
      if (d[i.a]) need[i.b] = true;
      if (d[i.b]) need[i.a] = true;
    }
    if ((i.kind == op::sigmoid || i.kind == op::tanh || i.kind == op::relu) && d[i.a])
      need[n] = true;
  }
  return need;
}

}  // namespace detail

/// Which values backward has without the forward storing them for it alone, and which the
/// forward stores (slot: their order in a slice's block of the tape).
template <std::size_t S>
struct backward_plan {
  std::array<bool, S> available{};
  std::array<bool, S> saved{};
  std::array<std::size_t, S> slot{};
  std::size_t saved_count = 0;
};

/// Which nodes one stage of a step evaluates (a register of its own for each that is not a
/// leaf) and which it reads from elsewhere (outside: the values the stage before carried).
template <std::size_t S>
struct stage_reach {
  std::array<bool, S> evaluated{};
  std::array<bool, S> outside{};
};

template <class List, class Outputs, class Operand = void>
struct graph_of;

template <class... Ns, class... Os, class Operand>
struct graph_of<node_list<Ns...>, outputs<Os...>, Operand> {
  static constexpr std::size_t size = sizeof...(Ns);
  template <class N>
  static constexpr std::size_t position = detail::position<N, Ns...>();

  static constexpr std::array<node_info, size> nodes{detail::info<Ns, Ns...>()...};
  /// The positions of h' and (for two-vector states) c'.
  static constexpr std::array<std::size_t, sizeof...(Os)> output{position<Os>...};
  static constexpr bool has_cell_state = sizeof...(Os) == 2;
  /// The position of v, the vector the second stage's products read, or none.
  static constexpr std::size_t operand = [] {
    if constexpr (std::is_void_v<Operand>) return none;
    else return position<Operand>;
  }();
  static constexpr bool two_stage = operand != none;
  /// Whether every U<k>(v) reads the same v.
  static constexpr bool single_operand =
      ((std::is_void_v<typename detail::operand_of<Ns>::type> ||
        std::is_same_v<typename detail::operand_of<Ns>::type, Operand>) &&
       ...);
  static constexpr std::array<bool, size> differentiable = detail::differentiable(nodes);
  static constexpr std::array<bool, size> needed = detail::needed(nodes);

  static constexpr bool is_output(std::size_t n) noexcept {
    return detail::is_output<size>(output, n);
  }

  /// Whether node n depends on a product of the second stage (W_hh v).
  static constexpr std::array<bool, size> second_stage = [] {
    std::array<bool, size> s{};
    for (std::size_t n = 0; n < size; ++n) {
      const node_info& i = nodes[n];
      s[n] = is_leaf(i.kind) ? i.reads_operand : s[i.a] || (i.b != none && s[i.b]);
    }
    return s;
  }();

  /// The nodes a forward from roots evaluates, descending from each only while it is
  /// `within` the stage: a product fused into its parent's multiply-add (expr::forward) is not
  /// formed, its factors are read instead.
  static constexpr stage_reach<size> reach(std::array<bool, size> used,
                                           const std::array<bool, size>& within) noexcept {
    stage_reach<size> r;
    for (std::size_t k = size; k-- > 0;) {
      const std::size_t n = k;
      if (!used[n]) continue;
      if (!within[n]) {
        r.outside[n] = true;
        continue;
      }
      r.evaluated[n] = true;
      const node_info& i = nodes[n];
      const auto fused = [&](std::size_t m) {
        return m != none && nodes[m].kind == op::mul && (i.kind == op::add || i.kind == op::sub);
      };
      // add fuses a product a, else b; sub a product b, else a (detail::apply).
      std::size_t product = none;
      if (i.kind == op::add) product = fused(i.a) ? i.a : fused(i.b) ? i.b : none;
      if (i.kind == op::sub) product = fused(i.b) ? i.b : fused(i.a) ? i.a : none;
      for (std::size_t child : {i.a, i.b}) {
        if (child == none) continue;
        if (child == product) {
          used[nodes[child].a] = used[nodes[child].b] = true;
        } else {
          used[child] = true;
        }
      }
    }
    return r;
  }
  static constexpr std::array<bool, size> outputs_mask = [] {
    std::array<bool, size> m{};
    for (std::size_t o : output) m[o] = true;
    return m;
  }();
  static constexpr std::array<bool, size> everything = [] {
    std::array<bool, size> m{};
    m.fill(true);
    return m;
  }();

  /// Whether the forward of a one-stage step evaluates node n (an output or an operand).
  static constexpr std::array<bool, size> evaluated = reach(outputs_mask, everything).evaluated;
  /// Position of the leaf of kind k and index i, or none.
  static constexpr std::size_t leaf(op k, std::size_t i) noexcept {
    for (std::size_t n = 0; n < size; ++n)
      if (nodes[n].kind == k && nodes[n].index == i) return n;
    return none;
  }
  /// The highest index of the leaves of kind k, or none.
  static constexpr std::size_t highest_index(op k) noexcept {
    std::size_t highest = none;
    for (const node_info& i : nodes)
      if (i.kind == k && (highest == none || i.index > highest)) highest = i.index;
    return highest;
  }

  static constexpr backward_plan<size> plan = [] {
    backward_plan<size> p;
    for (std::size_t n = 0; n < size; ++n) {
      const node_info& i = nodes[n];
      p.slot[n] = none;
      const bool loadable = i.kind == op::state || i.kind == op::vector ||
                            i.kind == op::constant || detail::is_output<size>(output, n);
      const bool recomputable = is_arithmetic(i.kind) && p.available[i.a] &&
                                (i.b == none || p.available[i.b]);
      p.available[n] = loadable || recomputable;
      if (needed[n] && !p.available[n]) {
        p.saved[n] = p.available[n] = true;
        p.slot[n] = p.saved_count++;
      }
    }
    return p;
  }();

  // ---- the two stages of a cell with U<k>(v) ----------------------------------------------
  static constexpr std::array<bool, size> first_stage = [] {
    std::array<bool, size> m{};
    for (std::size_t n = 0; n < size; ++n) m[n] = !second_stage[n];
    return m;
  }();
  /// What the second stage evaluates from the outputs down, and what it reads of the first.
  static constexpr stage_reach<size> second_reach = reach(outputs_mask, second_stage);
  /// The values the first stage hands to the second: what the second reads of it but for
  /// leaves it can read itself (W<k>, h, c, p<j>, constants), outputs the first stage already
  /// has, and the values training keeps (so that the second stage writes the tape at once).
  static constexpr std::array<bool, size> carried = [] {
    std::array<bool, size> m = second_reach.outside;
    for (std::size_t n = 0; n < size; ++n) {
      const op k = nodes[n].kind;
      if (second_stage[n] || !two_stage) m[n] = false;
      else if (plan.saved[n]) m[n] = true;
      if (k == op::input || k == op::state || k == op::vector || k == op::constant) m[n] = false;
    }
    return m;
  }();
  static constexpr std::array<std::size_t, size> carried_slot = [] {
    std::array<std::size_t, size> slot{};
    std::size_t k = 0;
    for (std::size_t n = 0; n < size; ++n) slot[n] = carried[n] ? k++ : none;
    return slot;
  }();
  static constexpr std::size_t carried_count = [] {
    std::size_t k = 0;
    for (bool c : carried) k += c;
    return k;
  }();
  /// What each stage evaluates: the first the carried values and v, the second the rest.
  static constexpr std::array<bool, size> evaluated_first = [] {
    std::array<bool, size> roots = carried;
    if (two_stage) roots[operand] = true;
    return reach(roots, first_stage).evaluated;
  }();
  static constexpr std::array<bool, size> evaluated_second = second_reach.evaluated;

  /// 2 * parent + (0 or 1 for its first or second child): the first term of node n's adjoint.
  static constexpr std::array<std::size_t, size> first_contribution = [] {
    std::array<std::size_t, size> first{};
    for (std::size_t n = 0; n < size; ++n) {
      first[n] = none;
      for (std::size_t q = n + 1; q < size && first[n] == none; ++q) {
        if (!differentiable[q]) continue;
        if (nodes[q].a == n) first[n] = 2 * q;
        else if (nodes[q].b == n) first[n] = 2 * q + 1;
      }
    }
    return first;
  }();

  /// Whether the adjoints of W<k> and U<k> are one value: both feed only their sum W<k> + U<k>
  /// (true of every gate of the classic cells; then one buffer holds both gradients).
  static constexpr bool gate_gradients_shared(std::size_t gates) noexcept {
    if (two_stage) return false;  // the hidden side's gradients are in W_hh's staged layout
    for (std::size_t k = 0; k < gates; ++k) {
      const std::size_t x = leaf(op::input, k), hk = leaf(op::hidden, k);
      if (x == none || hk == none) return false;
      std::size_t uses_x = 0, uses_h = 0, sum = none;
      for (std::size_t n = 0; n < size; ++n) {
        const node_info& i = nodes[n];
        uses_x += (i.a == x) + (i.b == x);
        uses_h += (i.a == hk) + (i.b == hk);
        if (i.kind == op::add && ((i.a == x && i.b == hk) || (i.a == hk && i.b == x))) sum = n;
      }
      if (sum == none || uses_x != 1 || uses_h != 1 || is_output(x) || is_output(hk)) return false;
    }
    return true;
  }
};

namespace detail {

template <class L>
struct operand_in;
template <class... Ns>
struct operand_in<node_list<Ns...>> {
  using type = typename first_non_void<typename operand_of<Ns>::type...>::type;
};

/// The nodes of outputs O and of the second stage's operand v (a U<k>(v) does not list v
/// among its children: its product is a matrix pass, not an element-wise operation).
template <class O, class L = typename collect_outputs<node_list<>, O>::type,
          class V = typename operand_in<L>::type>
struct graph_for {
  using type = graph_of<typename collect<contains<L, V>, L, V>::type, O, V>;
};
template <class O, class L>
struct graph_for<O, L, void> {
  using type = graph_of<L, O, void>;
};

}  // namespace detail

/// The graph of a step's outputs: next(h', c') as returned by a cell's equations().
template <class Outputs>
using graph = typename detail::graph_for<Outputs>::type;

}  // namespace rnnx::expr
