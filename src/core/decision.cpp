#include "core/decision.hpp"

namespace picket::core {

std::string_view decision_action_name(DecisionAction a) noexcept {
  switch (a) {
    case DecisionAction::block: return "block";
    case DecisionAction::unblock: return "unblock";
    case DecisionAction::rate_limit: return "rate_limit";
    case DecisionAction::unrate_limit: return "unrate_limit";
  }
  return "block";
}

}  // namespace picket::core
