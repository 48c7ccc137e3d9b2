#include "daemon/enforcers.hpp"

#include "enforce/dry_run/dry_run_enforcer.hpp"
#include "enforce/exec/exec_enforcer.hpp"
#include "enforce/ipset/ipset_enforcer.hpp"
#include "enforce/nftables/nftables_enforcer.hpp"

namespace picket::daemon {

core::Result<EnforcerBundle> make_enforcer(const DaemonSettings& s, const config::Config& cfg) {
  EnforcerBundle out;
  switch (s.backend) {
    case Backend::nftables: {
      auto e = enforce::nftables::NftablesEnforcer::open();
      if (!e) return e.error();
      out.nftables = e.value().get();
      out.enforcer = std::move(e.value());
      break;
    }
    case Backend::ipset: {
      const auto is = enforce::ipset::settings_from_config(cfg);
      out.enforcer = std::make_unique<enforce::ipset::IpsetEnforcer>(is, enforce::ipset::process_runner(is.timeout));
      break;
    }
    case Backend::exec: {
      auto e = enforce::exec::ExecEnforcer::create(enforce::exec::settings_from_config(cfg));
      if (!e) return e.error();
      out.exec = e.value().get();
      out.enforcer = std::move(e.value());
      break;
    }
    case Backend::dry_run:
      out.enforcer = std::make_unique<enforce::DryRunEnforcer>();
      return out;  // nothing to cut either
  }
  if (!s.conntrack_cleanup) return out;
  auto cleaner = enforce::conntrack::ConntrackCleaner::open();
  if (!cleaner) {
    out.warning = "conntrack cleanup is off: " + cleaner.error().message;
    return out;
  }
  auto wrapped = std::make_unique<enforce::conntrack::ConntrackCleanupEnforcer>(std::move(out.enforcer),
                                                                                std::move(cleaner.value()));
  out.cleanup = wrapped.get();
  out.enforcer = std::move(wrapped);
  return out;
}

}  // namespace picket::daemon
