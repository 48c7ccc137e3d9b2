#include "enforce/exec/exec_enforcer.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <ctime>
#include <utility>

#include "enforce/exec/process.hpp"

namespace picket::enforce::exec {

namespace {

using core::DecisionAction;

core::Timestamp wall_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return core::Timestamp::from_parts(ts.tv_sec, ts.tv_nsec);
}

bool is_rate(DecisionAction a) { return a == DecisionAction::rate_limit || a == DecisionAction::unrate_limit; }

// PATH lookup the way posix_spawnp does it, so init() can say "not found" before the first ban.
bool program_exists(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return access(prog.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    if (access((dir + "/" + prog).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "enforce.exec");
  s.string_list("block", {}, 64,
                "Command run to block a target (enforcer exec): a list, one element per argument, no shell; "
                "placeholders {address} {ip} {prefix} {length} {family} {duration} {detector} {reason} {offence}",
                "seed 004: netsh advfirewall firewall add rule name=\"picket {address}\" dir=in action=block "
                "remoteip={address}");
  s.string_list("unblock", {}, 64, "Command run to lift a block (same placeholders as block)",
                "seed 004: netsh advfirewall firewall delete rule name=\"picket {address}\"");
  s.string_list("flush", {}, 64,
                "Command run to lift every block at once; when empty, unblock runs for each held target");
  s.string_list("rate_limit", {}, 64,
                "Command run for a rate limit (spoofed floods); adds {port} {proto} {rate}. Empty: rate limits "
                "are refused");
  s.string_list("unrate_limit", {}, 64, "Command run to lift a rate limit (same placeholders as rate_limit)");
  s.duration("timeout", core::Duration::seconds(10), core::Duration::millis(100), core::Duration::seconds(600),
             "Longest a command may run; it is killed after this and the decision fails");
}

ExecSettings settings_from_config(const config::Config& cfg) {
  ExecSettings s;
  s.block = cfg.list("enforce.exec.block");
  s.unblock = cfg.list("enforce.exec.unblock");
  s.flush = cfg.list("enforce.exec.flush");
  s.rate_limit = cfg.list("enforce.exec.rate_limit");
  s.unrate_limit = cfg.list("enforce.exec.unrate_limit");
  s.timeout = cfg.duration("enforce.exec.timeout");
  return s;
}

core::Result<std::unique_ptr<ExecEnforcer>> ExecEnforcer::create(const ExecSettings& s, Clock clock) {
  const std::pair<const char*, const std::vector<std::string>*> verbs[] = {
      {"enforce.exec.block", &s.block},           {"enforce.exec.unblock", &s.unblock},
      {"enforce.exec.flush", &s.flush},           {"enforce.exec.rate_limit", &s.rate_limit},
      {"enforce.exec.unrate_limit", &s.unrate_limit},
  };
  std::vector<CommandTemplate> t;
  std::string errors;
  for (const auto& [verb, args] : verbs) {
    auto p = CommandTemplate::parse(verb, *args);
    if (!p) {
      errors += (errors.empty() ? "" : "; ") + p.error().message;
      continue;
    }
    t.push_back(std::move(p).value());
  }
  if (!errors.empty()) return core::make_error("exec: " + errors);
  if (s.timeout.ns <= 0) return core::make_error("exec: enforce.exec.timeout must be positive");
  if (!clock) clock = wall_now;
  return std::unique_ptr<ExecEnforcer>(new ExecEnforcer(s, std::move(t), std::move(clock)));
}

ExecEnforcer::ExecEnforcer(ExecSettings s, std::vector<CommandTemplate> t, Clock clock)
    : settings_(std::move(s)),
      block_(std::move(t[0])),
      unblock_(std::move(t[1])),
      flush_(std::move(t[2])),
      rate_limit_(std::move(t[3])),
      unrate_limit_(std::move(t[4])),
      clock_(std::move(clock)) {}

core::Result<void> ExecEnforcer::init() {
  if (block_.empty() || unblock_.empty()) {
    return core::make_error("exec: enforce.exec.block and enforce.exec.unblock must both be set");
  }
  if (rate_limit_.empty() != unrate_limit_.empty()) {
    return core::make_error("exec: set both enforce.exec.rate_limit and enforce.exec.unrate_limit, or neither");
  }
  for (const CommandTemplate* t : {&block_, &unblock_, &flush_, &rate_limit_, &unrate_limit_}) {
    if (!t->empty() && !program_exists(t->program())) {
      return core::make_error(fmt::format("exec: {}: program {:?} not found or not executable", t->verb(),
                                          t->program()));
    }
  }
  return {};
}

core::Result<void> ExecEnforcer::run(const CommandTemplate& t, const std::vector<std::string>& argv) {
  ++commands_run_;
  auto r = run_process(argv, {}, settings_.timeout, 4096);
  if (!r) return core::make_error(fmt::format("exec: {}: {}", t.verb(), r.error().message));
  if (!r->success()) {
    return core::make_error(
        fmt::format("exec: {}: `{}`: {}", t.verb(), quote_argv(argv), describe_failure(*r, settings_.timeout)));
  }
  return {};
}

core::Decision ExecEnforcer::lifting(const core::Decision& d) {
  core::Decision u = d;
  u.action = d.action == DecisionAction::rate_limit ? DecisionAction::unrate_limit : DecisionAction::unblock;
  u.duration = {};
  return u;
}

core::Result<void> ExecEnforcer::apply(std::span<const core::Decision> batch) {
  for (const auto& d : batch) {
    if (auto ok = validate_decision(d); !ok) return core::make_error("exec: " + ok.error().message);
  }
  struct Step {
    const CommandTemplate* t;
    std::vector<std::string> argv;
  };
  // Render everything first, simulating the ledger, so a refused decision stops the batch before
  // any command runs.
  std::vector<std::vector<Step>> plan(batch.size());
  std::map<Key, core::Decision> sim;
  for (const auto& [k, h] : held_) sim.emplace(k, h.decision);
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& d = batch[i];
    const bool rate = is_rate(d.action);
    const Key key{d.target, rate ? d.port : uint16_t{0}, rate ? d.proto : uint8_t{0}};
    const CommandTemplate& add = rate ? rate_limit_ : block_;
    const CommandTemplate& lift = rate ? unrate_limit_ : unblock_;
    if (add.empty() || lift.empty()) {
      return core::make_error(fmt::format("exec: {}: no command configured ({} and {})", describe_decision(d),
                                          add.verb(), lift.verb()));
    }
    auto step = [&](const CommandTemplate& t, const core::Decision& x) -> core::Result<void> {
      auto argv = t.render(x);
      if (!argv) return core::make_error("exec: " + argv.error().message);
      plan[i].push_back(Step{&t, std::move(argv).value()});
      return {};
    };
    auto it = sim.find(key);
    if (d.action == DecisionAction::block || d.action == DecisionAction::rate_limit) {
      if (it != sim.end()) {
        if (auto r = step(lift, lifting(it->second)); !r) return r;
      }
      if (auto r = step(add, d); !r) return r;
      sim[key] = d;
    } else if (it != sim.end()) {
      // Lift with the values the entry was created with (the rule name may use {detector}).
      if (auto r = step(lift, lifting(it->second)); !r) return r;
      sim.erase(it);
    }
  }
  const core::Timestamp now = clock_();
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& d = batch[i];
    const bool rate = is_rate(d.action);
    const Key key{d.target, rate ? d.port : uint16_t{0}, rate ? d.proto : uint8_t{0}};
    for (size_t s = 0; s < plan[i].size(); ++s) {
      if (auto r = run(*plan[i][s].t, plan[i][s].argv); !r) {
        // An unblock that ran before a failing re-block has lifted the entry.
        if (s > 0) held_.erase(key);
        return core::make_error(fmt::format("{} ({} of {} decisions applied before it)", r.error().message, i,
                                            batch.size()));
      }
    }
    if (d.action == DecisionAction::block || d.action == DecisionAction::rate_limit) {
      held_[key] = Held{d.duration.ns == 0 ? core::Timestamp{} : now + d.duration, d};
    } else {
      held_.erase(key);
    }
  }
  return {};
}

core::Result<size_t> ExecEnforcer::expire(core::Timestamp now) {
  size_t lifted = 0;
  std::optional<core::Error> first;
  for (auto it = held_.begin(); it != held_.end();) {
    const Held& h = it->second;
    if (h.until.ns == 0 || h.until > now) {
      ++it;
      continue;
    }
    const bool rate = h.decision.action == DecisionAction::rate_limit;
    const CommandTemplate& lift = rate ? unrate_limit_ : unblock_;
    auto argv = lift.render(lifting(h.decision));
    core::Result<void> r = argv ? run(lift, *argv) : core::Result<void>(core::make_error("exec: " + argv.error().message));
    if (!r) {
      if (!first) first = r.error();
      ++it;
      continue;
    }
    ++lifted;
    it = held_.erase(it);
  }
  if (first) return *first;
  return lifted;
}

core::Result<std::vector<core::Ban>> ExecEnforcer::list() const {
  const core::Timestamp now = clock_();
  std::vector<core::Ban> out;
  for (const auto& [key, h] : held_) {
    if (h.decision.action != DecisionAction::block) continue;
    core::Ban b;
    b.target = std::get<0>(key);
    // Due but not yet expired: report the smallest positive time so "0 = no timeout" stays unambiguous.
    b.remaining = h.until.ns == 0 ? core::Duration{} : (h.until > now ? h.until - now : core::Duration::nanos(1));
    b.detector = h.decision.detector;
    b.reason = h.decision.reason;
    b.offence = h.decision.offence;
    out.push_back(std::move(b));
  }
  return out;
}

core::Result<std::vector<RateLimit>> ExecEnforcer::list_rate_limits() const {
  const core::Timestamp now = clock_();
  std::vector<RateLimit> out;
  for (const auto& [key, h] : held_) {
    if (h.decision.action != DecisionAction::rate_limit) continue;
    RateLimit r;
    r.target = std::get<0>(key);
    r.port = std::get<1>(key);
    r.proto = std::get<2>(key);
    r.rate_per_second = h.decision.rate_per_second;
    r.remaining = h.until.ns == 0 ? core::Duration{} : (h.until > now ? h.until - now : core::Duration::nanos(1));
    out.push_back(r);
  }
  return out;
}

core::Result<void> ExecEnforcer::flush() {
  if (!flush_.empty()) {
    core::Decision any;  // flush templates normally use no placeholder; give them a harmless target
    any.action = DecisionAction::unblock;
    any.target = core::Prefix(core::IpAddress::v4(0), 0);
    any.detector = "flush";
    auto argv = flush_.render(any);
    if (!argv) return core::make_error("exec: " + argv.error().message);
    if (auto r = run(flush_, *argv); !r) return r;
    held_.clear();
    return {};
  }
  std::optional<core::Error> first;
  for (auto it = held_.begin(); it != held_.end();) {
    const bool rate = it->second.decision.action == DecisionAction::rate_limit;
    const CommandTemplate& lift = rate ? unrate_limit_ : unblock_;
    auto argv = lift.render(lifting(it->second.decision));
    core::Result<void> r = argv ? run(lift, *argv) : core::Result<void>(core::make_error("exec: " + argv.error().message));
    if (!r) {
      if (!first) first = r.error();
      ++it;
      continue;
    }
    it = held_.erase(it);
  }
  if (first) return *first;
  return {};
}

}  // namespace picket::enforce::exec
