#include "conn/snapshot.hpp"

#include <array>

namespace picket::conn {

namespace {
constexpr std::array<std::string_view, tcp_state::kMax + 1> kStateNames = {
    "unknown", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",    "time_wait",
    "close",   "close_wait",  "last_ack", "listen",   "closing",   "new_syn_recv",
};
}  // namespace

std::string_view state_name(uint8_t state) noexcept {
  return state <= tcp_state::kMax ? kStateNames[state] : kStateNames[0];
}

uint8_t state_from_name(std::string_view name) noexcept {
  for (uint8_t i = 1; i <= tcp_state::kMax; ++i) {
    if (kStateNames[i] == name) return i;
  }
  return 0;
}

}  // namespace picket::conn
