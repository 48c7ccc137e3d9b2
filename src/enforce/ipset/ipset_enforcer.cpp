#include "enforce/ipset/ipset_enforcer.hpp"

#include <fmt/format.h>

#include <charconv>
#include <utility>

#include "enforce/exec/command_template.hpp"

namespace picket::enforce::ipset {

namespace {

using core::DecisionAction;

struct SetDef {
  const char* name;
  const char* type;
  const char* family;
  const char* iptables;
};
constexpr SetDef kSets[] = {
    {"picket4", "hash:ip", "inet", "iptables"},
    {"picket6", "hash:ip", "inet6", "ip6tables"},
    {"picket_net4", "hash:net", "inet", "iptables"},
    {"picket_net6", "hash:net", "inet6", "ip6tables"},
};

const char* set_for(const core::Prefix& p) {
  const bool v4 = p.address().is_v4();
  if (p.is_host()) return v4 ? "picket4" : "picket6";
  return v4 ? "picket_net4" : "picket_net6";
}

std::vector<std::string> rule_argv(const SetDef& s, const char* op) {
  return {s.iptables, "-w", "5", "-t", "raw", op, "PREROUTING", "-m", "set", "--match-set", s.name, "src", "-j", "DROP"};
}

class ProcessRunner : public CommandRunner {
 public:
  ProcessRunner(core::Duration timeout, std::vector<std::string> wrapper)
      : timeout_(timeout), wrapper_(std::move(wrapper)) {}
  core::Result<exec::ProcessResult> run(const std::vector<std::string>& argv, std::string_view in) override {
    // `ipset save` of a million bans is ~50 MB; keep all of it.
    constexpr size_t kMaxOutput = size_t{256} << 20;
    if (wrapper_.empty()) return exec::run_process(argv, in, timeout_, kMaxOutput);
    std::vector<std::string> full = wrapper_;
    full.insert(full.end(), argv.begin(), argv.end());
    return exec::run_process(full, in, timeout_, kMaxOutput);
  }

 private:
  core::Duration timeout_;
  std::vector<std::string> wrapper_;
};

// ipset's timeout in whole seconds: rounded up (never 0 for a timed ban) and capped.
int64_t timeout_seconds(core::Duration d) {
  if (d.ns == 0) return 0;
  if (d > kMaxIpsetTimeout) return kMaxIpsetTimeout.whole_seconds();
  return (d.ns + 999'999'999) / 1'000'000'000;
}

// "ipset v7.17: Error in line 3: ..." → 3; 0 when absent.
size_t error_line(std::string_view err) {
  const std::string_view key = "Error in line ";
  const size_t at = err.find(key);
  if (at == std::string_view::npos) return 0;
  size_t n = 0;
  const char* b = err.data() + at + key.size();
  std::from_chars(b, err.data() + err.size(), n);
  return n;
}

}  // namespace

std::unique_ptr<CommandRunner> process_runner(core::Duration timeout, std::vector<std::string> wrapper) {
  return std::make_unique<ProcessRunner>(timeout, std::move(wrapper));
}

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "enforce.ipset");
  s.integer("maxelem", 1'048'576, 1'024, 67'108'864,
            "Most elements each of picket's sets (picket4, picket6, picket_net4, picket_net6) can hold (enforcer ipset)");
  s.duration("timeout", core::Duration::seconds(30), core::Duration::seconds(1), core::Duration::seconds(600),
             "Longest one ipset/iptables command may run before it is killed and the operation fails");
}

IpsetSettings settings_from_config(const config::Config& cfg) {
  IpsetSettings s;
  s.maxelem = static_cast<uint32_t>(cfg.integer("enforce.ipset.maxelem"));
  s.timeout = cfg.duration("enforce.ipset.timeout");
  return s;
}

IpsetEnforcer::IpsetEnforcer(IpsetSettings s, std::unique_ptr<CommandRunner> runner)
    : settings_(s), runner_(std::move(runner)) {}

core::Result<exec::ProcessResult> IpsetEnforcer::run(const std::vector<std::string>& argv, std::string_view in,
                                                      std::string_view what) const {
  auto r = runner_->run(argv, in);
  if (!r) {
    return core::make_error(fmt::format("ipset: {}: {} (is the ipset/iptables package installed?)", what,
                                        r.error().message));
  }
  return r;
}

std::string IpsetEnforcer::create_lines() const {
  std::string out;
  for (const auto& s : kSets) {
    out += fmt::format("create {} {} family {} hashsize 1024 maxelem {} timeout 0 comment\n", s.name, s.type, s.family,
                       settings_.maxelem);
  }
  return out;
}

core::Result<void> IpsetEnforcer::init() {
  auto r = run({"ipset", "restore", "-exist"}, create_lines(), "create sets");
  if (!r) return r.error();
  if (!r->success()) {
    return core::make_error(fmt::format("ipset: create sets: {}", exec::describe_failure(*r, settings_.timeout)));
  }
  for (const auto& s : kSets) {
    auto check = run(rule_argv(s, "-C"), {}, fmt::format("check {} rule for {}", s.iptables, s.name));
    if (!check) return check.error();
    if (check->success()) continue;
    if (check->exit_code != 1) {
      return core::make_error(fmt::format("ipset: {} -t raw -C PREROUTING ({}): {}", s.iptables, s.name,
                                          exec::describe_failure(*check, settings_.timeout)));
    }
    auto add = run(rule_argv(s, "-I"), {}, fmt::format("add {} rule for {}", s.iptables, s.name));
    if (!add) return add.error();
    if (!add->success()) {
      return core::make_error(fmt::format("ipset: {} -t raw -I PREROUTING ({}): {}", s.iptables, s.name,
                                          exec::describe_failure(*add, settings_.timeout)));
    }
  }
  return {};
}

core::Result<std::string> IpsetEnforcer::restore_script(std::span<const core::Decision> batch) const {
  std::string script;
  for (const auto& d : batch) {
    if (auto ok = validate_decision(d); !ok) return core::make_error("ipset: " + ok.error().message);
    if (d.action == DecisionAction::rate_limit || d.action == DecisionAction::unrate_limit) {
      return core::make_error(
          fmt::format("ipset: {}: rate limits are not supported by the ipset backend", describe_decision(d)));
    }
    if (d.target.length() == 0) {
      return core::make_error(fmt::format("ipset: {}: a /0 prefix cannot be held by hash:net", describe_decision(d)));
    }
    auto text = exec::canonical_prefix_text(d.target);
    if (!text) return core::make_error(fmt::format("ipset: {}: {}", describe_decision(d), text.error().message));
    const std::string elem = d.target.is_host() ? text->substr(0, text->find('/')) : *text;
    if (d.action == DecisionAction::block) {
      script += fmt::format("add {} {} timeout {}", set_for(d.target), elem, timeout_seconds(d.duration));
      // The detector rides along as the element's comment (list() reads it back); only names
      // that cannot break the restore line's quoting.
      if (exec::is_safe_detector_name(d.detector)) script += fmt::format(" comment \"{}\"", d.detector);
      script += '\n';
    } else {
      script += fmt::format("del {} {}\n", set_for(d.target), elem);
    }
  }
  return script;
}

core::Result<void> IpsetEnforcer::apply(std::span<const core::Decision> batch) {
  auto script = restore_script(batch);
  if (!script) return script.error();
  if (script->empty()) return {};
  auto r = run({"ipset", "restore", "-exist"}, *script, "restore");
  if (!r) return r.error();
  if (r->success()) return {};
  const std::string why = exec::describe_failure(*r, settings_.timeout);
  const size_t line = error_line(r->err);
  if (line >= 1 && line <= batch.size()) {
    return core::make_error(fmt::format("ipset: {}: {} ({} of {} decisions applied before it)",
                                        describe_decision(batch[line - 1]), why, line - 1, batch.size()));
  }
  return core::make_error(fmt::format("ipset: restore of {} decisions: {}", batch.size(), why));
}

core::Result<std::vector<core::Ban>> parse_save(std::string_view text) {
  std::vector<core::Ban> out;
  size_t lineno = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    // add SET ELEM [timeout N] [comment "TEXT"] ...
    std::vector<std::string_view> words;
    while (!line.empty()) {
      const size_t sp = line.find(' ');
      if (sp != 0) words.push_back(line.substr(0, sp));
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    }
    if (words.size() < 3 || words[0] != "add") continue;
    const SetDef* set = nullptr;
    for (const auto& s : kSets) {
      if (words[1] == s.name) set = &s;
    }
    if (set == nullptr) continue;
    auto bad = [&](std::string_view why) {
      return core::make_error(fmt::format("ipset: save output line {}: {}", lineno, why));
    };
    auto p = core::Prefix::parse(words[2]);
    if (!p) return bad(fmt::format("{:?} is not an address or prefix", words[2].substr(0, 64)));
    core::Ban b;
    b.target = *p;
    for (size_t i = 3; i + 1 < words.size(); ++i) {
      if (words[i] == "timeout") {
        int64_t secs = -1;
        auto [ptr, ec] = std::from_chars(words[i + 1].data(), words[i + 1].data() + words[i + 1].size(), secs);
        if (ec != std::errc{} || ptr != words[i + 1].data() + words[i + 1].size() || secs < 0) {
          return bad(fmt::format("timeout {:?}", words[i + 1].substr(0, 32)));
        }
        b.remaining = core::Duration::seconds(secs);
      } else if (words[i] == "comment") {
        std::string_view c = words[i + 1];
        if (c.size() >= 2 && c.front() == '"' && c.back() == '"') c = c.substr(1, c.size() - 2);
        b.detector = std::string(c);
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

core::Result<std::vector<core::Ban>> IpsetEnforcer::list() const {
  auto r = run({"ipset", "save"}, {}, "save");
  if (!r) return r.error();
  if (!r->success()) return core::make_error("ipset: save: " + exec::describe_failure(*r, settings_.timeout));
  if (r->truncated) return core::make_error("ipset: save: output too large to read");
  return parse_save(r->out);
}

core::Result<void> IpsetEnforcer::flush() {
  std::string script = create_lines();
  for (const auto& s : kSets) script += fmt::format("flush {}\n", s.name);
  auto r = run({"ipset", "restore", "-exist"}, script, "flush");
  if (!r) return r.error();
  if (!r->success()) return core::make_error("ipset: flush: " + exec::describe_failure(*r, settings_.timeout));
  return {};
}

core::Result<void> IpsetEnforcer::remove() {
  // Which of picket's sets exist: a rule can only reference an existing set (the kernel holds a
  // reference), and iptables refuses to even parse a rule naming a missing one.
  auto names = run({"ipset", "list", "-n"}, {}, "list set names");
  if (!names) return names.error();
  if (!names->success()) return core::make_error("ipset: list -n: " + exec::describe_failure(*names, settings_.timeout));
  std::vector<const SetDef*> present;
  std::string_view rest = names->out;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view n = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    for (const auto& s : kSets) {
      if (n == s.name) present.push_back(&s);
    }
  }
  std::string script;
  for (const SetDef* s : present) {
    // Delete every copy (init() run by hand twice, an older version); stop when the rule is gone
    // (exit status 1) or at any other failure.
    for (int i = 0; i < 16; ++i) {
      auto d = run(rule_argv(*s, "-D"), {}, fmt::format("delete {} rule for {}", s->iptables, s->name));
      if (!d) return d.error();
      if (d->success()) continue;
      if (d->exit_code == 1) break;
      return core::make_error(fmt::format("ipset: {} -t raw -D PREROUTING ({}): {}", s->iptables, s->name,
                                          exec::describe_failure(*d, settings_.timeout)));
    }
    script += fmt::format("destroy {}\n", s->name);
  }
  if (script.empty()) return {};
  auto r = run({"ipset", "restore"}, script, "destroy sets");
  if (!r) return r.error();
  if (!r->success()) return core::make_error("ipset: destroy sets: " + exec::describe_failure(*r, settings_.timeout));
  return {};
}

}  // namespace picket::enforce::ipset
