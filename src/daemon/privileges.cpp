#include "daemon/privileges.hpp"

#include <cap-ng.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <vector>

namespace picket::daemon {

core::Result<std::string> keep_only_network_capabilities() {
  capng_get_caps_process();
  // Keep those of the two we have (a caller may already lack one: keeping it would fail).
  const bool admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) != 0;
  const bool raw = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_RAW) != 0;
  if (!admin && !raw) return std::string();  // nothing worth keeping: running unprivileged already
  std::vector<int> keep;
  if (admin) keep.push_back(CAP_NET_ADMIN);
  if (raw) keep.push_back(CAP_NET_RAW);
  const std::string kept = admin && raw ? "CAP_NET_ADMIN and CAP_NET_RAW" : admin ? "CAP_NET_ADMIN" : "CAP_NET_RAW";
  capng_clear(CAPNG_SELECT_ALL);
  const auto types = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
                                               CAPNG_BOUNDING_SET | CAPNG_AMBIENT);
  for (int c : keep) {
    if (capng_update(CAPNG_ADD, types, static_cast<unsigned>(c)) != 0) {
      return core::make_error("capabilities: cannot select " + kept);
    }
  }
  if (const int rc = capng_apply(CAPNG_SELECT_ALL); rc != 0) {
    // Ambient capabilities need Linux >= 4.3; retry without them rather than keep everything.
    capng_clear(CAPNG_SELECT_ALL);
    const auto basic = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET);
    for (int c : keep) capng_update(CAPNG_ADD, basic, static_cast<unsigned>(c));
    if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
      return core::make_error("capabilities: cannot drop privileges (capng_apply failed with " + std::to_string(rc) + ")");
    }
    return "kept only " + kept + " (no ambient set: child commands get none)";
  }
  return "kept only " + kept;
}

void notify_ready(const std::string& status) {
  sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", status.c_str(), static_cast<unsigned long>(getpid()));
}
void notify_reloading() { sd_notify(0, "RELOADING=1"); }
void notify_stopping() { sd_notify(0, "STOPPING=1"); }
void notify_status(const std::string& status) { sd_notifyf(0, "STATUS=%s", status.c_str()); }

}  // namespace picket::daemon
