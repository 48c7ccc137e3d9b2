// Walking a batch with prefetch hints some places ahead: prefetch(j) is called once for each index
// j, `ahead` places before visit(j) (the first `ahead` before any visit).
#pragma once

#include <algorithm>
#include <cstddef>

namespace picket::engine {

template <typename Prefetch, typename Visit>
void visit_with_lookahead(size_t n, size_t ahead, Prefetch&& prefetch, Visit&& visit) {
  for (size_t j = 0; j < std::min(n, ahead); ++j) prefetch(j);
  for (size_t i = 0; i < n; ++i) {
    if (i + ahead < n) prefetch(i + ahead);
    visit(i);
  }
}

}  // namespace picket::engine
