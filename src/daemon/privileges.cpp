#include "daemon/privileges.hpp"

#include <cap-ng.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <vector>

namespace picket::daemon {

core::Result<std::string> keep_only_network_capabilities(bool keep_ptrace) {
  capng_get_caps_process();
  // Keep those of the two we have (a caller may already lack one: keeping it would fail).
  const bool admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) != 0;
  const bool raw = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_RAW) != 0;
  if (!admin && !raw) return std::string();  // nothing worth keeping: running unprivileged already
  const bool ptrace = keep_ptrace && capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_PTRACE) != 0;
  std::vector<int> keep;
  std::string kept;
  auto add = [&](int cap, const char* name) {
    keep.push_back(cap);
    kept += kept.empty() ? name : std::string(", ") + name;
  };
  if (admin) add(CAP_NET_ADMIN, "CAP_NET_ADMIN");
  if (raw) add(CAP_NET_RAW, "CAP_NET_RAW");
  if (ptrace) add(CAP_SYS_PTRACE, "CAP_SYS_PTRACE (to name the processes owning sockets)");
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
