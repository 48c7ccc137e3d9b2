#include "app/init_wizard.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/value.hpp"

namespace picket::app {
namespace {

using config::ParamDecl;
using config::ParamType;
using config::Value;

constexpr size_t kCommentWidth = 96;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// "a, b c" → {"a", "b", "c"}: commas and blanks both separate, so either habit works.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string join(const std::vector<std::string>& list, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// A value as the user would type it back (no YAML quoting).
std::string plain(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return join(*l);
  return config::detail::format_yaml(v);
}

std::string key_help(const ParamDecl& d) {
  return d.path + ": " + d.help + (d.seed_note.empty() ? "" : " (" + d.seed_note + ")");
}

constexpr const char* kProfileHelp =
    "profile: the built-in thresholds every key starts from. normal catches real attacks without banning ordinary "
    "users; aggressive and paranoid report and block sooner, with more false alarms";

core::Result<Value> fail(std::string reason) {
  return core::make_error(std::move(reason));
}

// The answer read as the declared parameter reads it in a file: type, then range/choices/entries.
core::Result<Value> parse_as(const ParamDecl& d, std::string_view text) {
  Value v;
  if (config::detail::is_list(d.type)) {
    std::vector<std::string> entries;
    for (const auto& e : split_list(text)) {
      auto n = config::detail::normalise_entry(d.type, e);
      if (!n) return fail(n.error().message);
      if (std::find(entries.begin(), entries.end(), *n) == entries.end()) entries.push_back(std::move(*n));
    }
    v = std::move(entries);
  } else {
    auto s = config::detail::parse_scalar(d.type, text, false);
    if (!s) return fail(s.error().message);
    v = std::move(*s);
  }
  if (auto ok = config::detail::check_constraints(d, v); !ok) return fail(ok.error().message);
  return v;
}

bool is_absolute_file(std::string_view p) {
  return p.size() > 1 && p.front() == '/' && p.back() != '/';
}

core::Result<Value> parse_file_path(std::string_view text, bool allow_stdout) {
  if (allow_stdout && text == "-") return Value{std::string("-")};
  if (!is_absolute_file(text) || has_control_or_space(text))
    return fail(fmt::format("expected an absolute file path without blanks{}",
                            allow_stdout ? " (or - for standard output)" : ""));
  struct stat st {};
  if (::stat(std::string(text).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return fail(fmt::format("{} is a directory", text));
  return Value{std::string(text)};
}

// scheme://host[...]: the scheme one of `schemes`, a non-empty host, no blanks or control bytes.
core::Result<Value> parse_url(std::string_view text, std::initializer_list<std::string_view> schemes) {
  std::vector<std::string> names;
  for (auto s : schemes) {
    names.push_back(std::string(s) + "://");
    const std::string prefix = names.back();
    if (lower(text.substr(0, prefix.size())) != prefix) continue;
    const auto rest = text.substr(prefix.size());
    const auto host = rest.substr(0, rest.find_first_of("/:?#"));
    if (host.empty()) return fail("the URL has no host");
    if (has_control_or_space(text)) return fail("a URL cannot hold blanks or control characters");
    return Value{std::string(text)};
  }
  return fail(fmt::format("expected a URL starting with {}", join(names, " or ")));
}

bool valid_mail_address(std::string_view a) {
  const auto at = a.find('@');
  if (at == 0 || at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return false;
  if (at + 1 >= a.size() || a.size() > 254 || has_control_or_space(a)) return false;
  return a.find_first_of("<>,;\"()[]\\") == std::string_view::npos && a.back() != '.';
}

bool valid_port(std::string_view p) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return ec == std::errc{} && end == p.data() + p.size() && v >= 1 && v <= 65535;
}

core::Result<Value> parse_syslog_target(std::string_view t) {
  if (has_control_or_space(t)) return fail("a target cannot hold blanks or control characters");
  if (t.substr(0, 5) == "unix:") {
    if (!is_absolute_file(t.substr(5))) return fail("unix: needs an absolute socket path, e.g. unix:/dev/log");
    return Value{std::string(t)};
  }
  if (t.substr(0, 4) == "udp:" || t.substr(0, 4) == "tcp:") {
    const auto rest = t.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || !valid_port(rest.substr(colon + 1)))
      return fail(fmt::format("{} needs HOST:PORT with a port 1..65535", t.substr(0, 4)));
    return Value{std::string(t)};
  }
  return fail("expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT");
}

core::Result<Value> parse_yes_no(std::string_view text) {
  const std::string a = lower(text);
  if (a == "y" || a == "yes") return Value{true};
  if (a == "n" || a == "no") return Value{false};
  return fail("answer yes or no");
}

// `text` wrapped at blanks, each line as a comment with `indent`; control bytes become blanks so
// nothing in a help text can end the comment early.
void append_comment(std::string& out, std::string_view text, const std::string& indent) {
  std::string line;
  auto flush = [&] {
    out += indent + "#";
    if (!line.empty()) out += " " + line;
    out += '\n';
    line.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    std::string word(text.substr(i, end - i));
    for (char& c : word) c = static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > kCommentWidth) flush();
    if (!word.empty()) line += (line.empty() ? "" : " ") + word;
    if (end < text.size() && text[end] == '\n') flush();
    i = end + 1;
  }
  if (!line.empty()) flush();
}

}  // namespace

std::vector<HostInterface> host_interfaces() {
  std::vector<HostInterface> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_name == nullptr) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const HostInterface& h) { return h.name == a->ifa_name; });
    if (it == out.end()) {
      out.push_back({a->ifa_name, false, false});
      it = out.end() - 1;
    }
    it->up = it->up || (a->ifa_flags & IFF_UP) != 0;
    it->loopback = it->loopback || (a->ifa_flags & IFF_LOOPBACK) != 0;
  }
  ::freeifaddrs(list);
  return out;
}

const Value* InitAnswers::find(std::string_view path) const {
  for (const auto& [p, v] : values)
    if (p == path) return &v;
  return nullptr;
}

// One run of the questions. Without streams every question takes its default.
class InitWizard::Session {
 public:
  Session(const InitWizard& w, std::istream* in, std::ostream* out) : w_(w), in_(in), out_(out) {}

  core::Result<InitAnswers> run();

 private:
  using Parser = std::function<core::Result<Value>(std::string_view)>;

  const ParamDecl* decl(std::string_view path) const { return w_.schema_.find(path); }
  // Asks until `parse` accepts the answer (empty = `default_text`). Error only on end of input.
  // `help` is printed for "?" (a key's help: "path: text").
  core::Result<Value> ask(std::string_view question, std::string_view hint, const std::string& default_text,
                          const std::string& help, const Parser& parse);
  std::optional<std::string> read_line();
  // Asks for a declared key, checked as the loader checks it (plus `extra`), and records it.
  core::Result<void> ask_key(std::string_view path, std::string_view question, std::string_view hint,
                             const Parser& extra = {});
  void set(std::string_view path, Value v);
  void set_if_declared(std::string_view path, Value v) {
    if (decl(path) != nullptr) set(path, std::move(v));
  }

  core::Result<void> ask_interfaces();
  core::Result<void> ask_profile();
  core::Result<void> ask_allowlist();
  core::Result<void> ask_ban_duration();
  core::Result<void> ask_log_paths();
  core::Result<void> ask_alerts();

  const InitWizard& w_;
  std::istream* in_;
  std::ostream* out_;
  InitAnswers answers_;
};

std::optional<std::string> InitWizard::Session::read_line() {
  std::string line;
  bool any = false, too_long = false;
  int c;
  while ((c = in_->get()) != std::char_traits<char>::eof()) {
    any = true;
    if (c == '\n') break;
    if (line.size() < kMaxAnswerBytes)
      line += static_cast<char>(c);
    else
      too_long = true;
  }
  if (!any) return std::nullopt;
  if (too_long) return std::string(1, '\0');  // a NUL never passes a check: re-asked with a reason
  return line;
}

core::Result<Value> InitWizard::Session::ask(std::string_view question, std::string_view hint,
                                             const std::string& default_text, const std::string& help,
                                             const Parser& parse) {
  if (in_ == nullptr) {
    auto v = parse(default_text);
    if (!v)
      return core::make_error(
          fmt::format("{}: the default {} is refused: {}", question, default_text, v.error().message));
    return v;
  }
  std::ostream& out = *out_;
  out << '\n' << question << '\n';
  if (!hint.empty()) out << "  " << hint << '\n';
  while (true) {
    out << "> [" << default_text << "]: " << std::flush;
    auto line = read_line();
    if (!line) {
      out << '\n';
      return core::make_error("aborted: end of input");
    }
    const std::string_view a = trim(*line);
    if (a == "?") {
      out << "  " << (help.empty() ? std::string_view("no more to say about this one") : std::string_view(help))
          << '\n';
      continue;
    }
    if (a.find('\0') != std::string_view::npos) {
      out << "  invalid: answer too long (at most " << kMaxAnswerBytes << " bytes)\n";
      continue;
    }
    auto v = parse(a.empty() ? std::string_view(default_text) : a);
    if (v) return v;
    out << "  invalid: " << v.error().message << '\n';
  }
}

void InitWizard::Session::set(std::string_view path, Value v) {
  for (auto& [p, old] : answers_.values)
    if (p == path) {
      old = std::move(v);
      return;
    }
  answers_.values.emplace_back(std::string(path), std::move(v));
}

core::Result<void> InitWizard::Session::ask_key(std::string_view path, std::string_view question, std::string_view hint,
                                                const Parser& extra) {
  const ParamDecl* d = decl(path);
  if (d == nullptr) return {};
  auto v = ask(question, hint, plain(d->profile_default(answers_.profile)), key_help(*d), [&](std::string_view text) {
    auto parsed = parse_as(*d, text);
    if (!parsed || !extra) return parsed;
    return extra(text);
  });
  if (!v) return v.error();
  set(path, std::move(*v));
  return {};
}

core::Result<void> InitWizard::Session::ask_interfaces() {
  const ParamDecl* d = decl("capture.interfaces");
  if (d == nullptr) return {};
  std::vector<std::string> up;
  for (const auto& i : w_.interfaces_)
    if (i.up && !i.loopback) up.push_back(i.name);
  const std::string hint = fmt::format(
      "Up on this host: {}. Names separated by commas, or \"all\" for every interface that is up except loopback.",
      up.empty() ? "(none found)" : join(up));
  auto v = ask("Capture interfaces", hint, "all", key_help(*d), [&](std::string_view text) -> core::Result<Value> {
    if (lower(text) == "all") return Value{std::vector<std::string>{}};
    for (const auto& name : split_list(text)) {
      if (name.size() >= IFNAMSIZ || name.find('/') != std::string::npos || name.find(':') != std::string::npos)
        return fail(fmt::format("{} is not an interface name", config::detail::quote_for_message(name)));
      if (w_.interfaces_.empty()) continue;
      const bool known = std::any_of(w_.interfaces_.begin(), w_.interfaces_.end(),
                                     [&](const HostInterface& h) { return h.name == name; });
      if (!known)
        return fail(fmt::format("no interface {} on this host (up: {})", config::detail::quote_for_message(name),
                                up.empty() ? "none" : join(up)));
    }
    return parse_as(*d, text);
  });
  if (!v) return v.error();
  set("capture.interfaces", std::move(*v));
  return {};
}

core::Result<void> InitWizard::Session::ask_profile() {
  auto v = ask("Profile", "normal, aggressive or paranoid: how quickly picket reports and blocks (lower thresholds).",
               "normal", kProfileHelp, [](std::string_view text) -> core::Result<Value> {
                 if (!config::parse_profile(lower(text))) return fail("expected normal, aggressive or paranoid");
                 return Value{lower(text)};
               });
  if (!v) return v.error();
  answers_.profile = *config::parse_profile(std::get<std::string>(*v));
  return {};
}

core::Result<void> InitWizard::Session::ask_allowlist() {
  const ParamDecl* d = decl("policy.allowlist");
  if (d == nullptr) return {};
  const auto base = std::get<std::vector<std::string>>(d->profile_default(answers_.profile));
  const std::string question =
      base.empty() ? "Trusted addresses and prefixes, never blocked"
                   : fmt::format("Trusted addresses and prefixes, never blocked, besides {}", join(base));
  auto v = ask(question,
               "IPv4 or IPv6 addresses or CIDR prefixes (10.0.0.0/8, 2001:db8::/32), separated by commas; "
               "\"none\" for no others.",
               "none", key_help(*d), [&](std::string_view text) -> core::Result<Value> {
                 std::string all = join(base);
                 if (lower(text) != "none") all += ", " + std::string(text);
                 return parse_as(*d, all);
               });
  if (!v) return v.error();
  set("policy.allowlist", std::move(*v));
  return {};
}

core::Result<void> InitWizard::Session::ask_ban_duration() {
  // The detectors whose findings block under this profile: one answer sets all their bans.
  std::vector<std::pair<std::string, const ParamDecl*>> blocking;
  for (const auto& p : w_.schema_.params()) {
    if (p.path.rfind("policy.", 0) != 0 || p.path.size() < 7 + 7 || p.path.substr(p.path.size() - 7) != ".action")
      continue;
    const auto* a = std::get_if<std::string>(&p.profile_default(answers_.profile));
    const std::string base = p.path.substr(0, p.path.size() - 7);
    if (a == nullptr || *a != "block" || decl(base + ".duration") == nullptr) continue;
    blocking.emplace_back(base.substr(7), decl(base + ".duration"));
  }
  if (blocking.empty()) return {};
  std::vector<std::string> now;
  for (const auto& [name, d] : blocking) now.push_back(name + " " + plain(d->profile_default(answers_.profile)));
  const std::string hint = fmt::format(
      "One duration for every blocking detector (300s, 10m, 1h), or \"keep\" for each one's own: {}.", join(now));
  auto v = ask("Ban duration for a first offence", hint, "keep", key_help(*blocking.front().second),
               [&](std::string_view text) -> core::Result<Value> {
                 if (lower(text) == "keep") return Value{std::string("keep")};
                 core::Result<Value> last = fail("no detector");
                 for (const auto& [name, d] : blocking) {
                   last = parse_as(*d, text);
                   if (!last) return last;
                 }
                 return last;
               });
  if (!v) return v.error();
  for (const auto& [name, d] : blocking) {
    const bool keep = std::holds_alternative<std::string>(*v);
    set(d->path, keep ? d->profile_default(answers_.profile) : *v);
  }
  return {};
}

core::Result<void> InitWizard::Session::ask_log_paths() {
  if (const ParamDecl* d = decl("output.events_file")) {
    auto v = ask("Event file (JSON lines: findings and decisions)", "An absolute path, or - for standard output.",
                 kDefaultEventsFile, key_help(*d), [](std::string_view t) { return parse_file_path(t, true); });
    if (!v) return v.error();
    set(d->path, std::move(*v));
  }
  if (const ParamDecl* d = decl("output.log_file")) {
    const Value* events = answers_.find("output.events_file");
    auto v = ask("Text log file (the same events, for people)", "An absolute path, or \"none\".", kDefaultLogFile,
                 key_help(*d), [&](std::string_view t) -> core::Result<Value> {
                   if (lower(t) == "none") return Value{std::string()};
                   auto p = parse_file_path(t, false);
                   if (p && events != nullptr && *events == *p) return fail("that is the event file already");
                   return p;
                 });
    if (!v) return v.error();
    set(d->path, std::move(*v));
  }
  return {};
}

core::Result<void> InitWizard::Session::ask_alerts() {
  if (const ParamDecl* url = decl("alerts.webhook.url")) {
    auto v = ask("Webhook for alerts (JSON POST; a Slack incoming-webhook URL works too)",
                 "An http:// or https:// URL, or \"none\".", "none", key_help(*url),
                 [](std::string_view t) -> core::Result<Value> {
                   if (lower(t) == "none") return Value{std::string()};
                   return parse_url(t, {"http", "https"});
                 });
    if (!v) return v.error();
    const std::string u = std::get<std::string>(*v);
    if (!u.empty()) {
      set_if_declared("alerts.webhook.enabled", true);
      set(url->path, u);
      if (const ParamDecl* f = decl("alerts.webhook.format")) {
        const bool slack = lower(u).find("hooks.slack.com") != std::string::npos;
        auto fv = ask("Webhook payload format", "json (the event itself) or slack.", slack ? "slack" : "json",
                      key_help(*f), [f](std::string_view t) { return parse_as(*f, lower(t)); });
        if (!fv) return fv.error();
        set(f->path, std::move(*fv));
      }
    }
  }
  if (const ParamDecl* to = decl("alerts.email.to")) {
    auto v = ask("Mail alerts to", "Addresses separated by commas, or \"none\".", "none", key_help(*to),
                 [to](std::string_view t) -> core::Result<Value> {
                   if (lower(t) == "none") return Value{std::vector<std::string>{}};
                   for (const auto& a : split_list(t))
                     if (!valid_mail_address(a))
                       return fail(fmt::format("{} is not a mail address", config::detail::quote_for_message(a)));
                   return parse_as(*to, t);
                 });
    if (!v) return v.error();
    if (!std::get<std::vector<std::string>>(*v).empty()) {
      set_if_declared("alerts.email.enabled", true);
      set(to->path, std::move(*v));
      if (auto r = ask_key("alerts.email.url", "Mail server",
                           "smtp://HOST[:PORT] (STARTTLS when offered) or smtps://HOST[:PORT].",
                           [](std::string_view t) {
                             return parse_url(t, {"smtp", "smtps"});
                           });
          !r)
        return r;
      if (const ParamDecl* from = decl("alerts.email.from")) {
        auto fv = ask("Sender address", "", "picket@" + (w_.hostname_.empty() ? "localhost" : w_.hostname_),
                      key_help(*from), [](std::string_view t) -> core::Result<Value> {
                        if (!valid_mail_address(t)) return fail("not a mail address (user@domain)");
                        return Value{std::string(t)};
                      });
        if (!fv) return fv.error();
        set(from->path, std::move(*fv));
      }
    }
  }
  if (const ParamDecl* target = decl("alerts.syslog.target")) {
    auto yes = ask("Send alerts to syslog?", "", "no", key_help(*target), parse_yes_no);
    if (!yes) return yes.error();
    if (std::get<bool>(*yes)) {
      set_if_declared("alerts.syslog.enabled", true);
      if (auto r = ask_key(target->path, "Syslog target", "unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT.",
                           parse_syslog_target);
          !r)
        return r;
    }
  }
  return {};
}

core::Result<InitAnswers> InitWizard::Session::run() {
  if (out_ != nullptr)
    *out_ << "picket init: a few questions, then a configuration file. Enter takes the default in brackets, "
             "? explains a question, Ctrl-D aborts.\n";
  for (auto step : {&Session::ask_interfaces, &Session::ask_profile, &Session::ask_allowlist}) {
    if (auto r = (this->*step)(); !r) return r.error();
  }
  if (auto r = ask_key("policy.mode", "Mode", "ips: block attackers in the kernel; ids: detect and report only."); !r)
    return r.error();
  if (auto r = ask_key("detect.conn_rate.limit",
                       "Connection rate limit: completed TCP connections one source may make per interval", "");
      !r)
    return r.error();
  if (auto r = ask_key("detect.conn_rate.interval", "Interval over which connections are counted",
                       "A duration: 60s, 5m, 1h.");
      !r)
    return r.error();
  for (auto step : {&Session::ask_ban_duration, &Session::ask_log_paths, &Session::ask_alerts}) {
    if (auto r = (this->*step)(); !r) return r.error();
  }
  return std::move(answers_);
}

InitWizard::InitWizard(const config::Schema& schema, std::vector<HostInterface> interfaces, std::string hostname)
    : schema_(schema), interfaces_(std::move(interfaces)), hostname_(std::move(hostname)) {}

core::Result<InitAnswers> InitWizard::ask(std::istream& in, std::ostream& out) const {
  return Session(*this, &in, &out).run();
}

InitAnswers InitWizard::defaults() const {
  auto r = Session(*this, nullptr, nullptr).run();
  // Every default passes its own check; a refusal is a bug in a declaration or here.
  if (!r) throw std::logic_error("picket init defaults: " + r.error().message);
  return std::move(r).value();
}

core::Result<std::string> InitWizard::render(const InitAnswers& answers) const {
  std::string out = fmt::format(
      "# picket configuration, written by `picket init`.\n"
      "# Keys not in this file take the {0} profile's value: `picket config schema` describes every key,\n"
      "# `picket config example --profile {0}` prints them all. Check edits with `picket check-config FILE`.\n"
      "\n"
      "# normal, aggressive or paranoid: the built-in thresholds every other key starts from.\n"
      "profile: {0}\n",
      config::profile_name(answers.profile));
  // In schema order, so a section's keys come together whatever order they were asked in.
  std::vector<std::string> open;  // the sections of the previous key
  for (const auto& d : schema_.params()) {
    const Value* v = answers.find(d.path);
    if (v == nullptr) continue;
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t dot = d.path.find('.', start);
      parts.push_back(d.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    out += '\n';
    for (size_t i = common; i + 1 < parts.size(); ++i) out += std::string(i * 2, ' ') + parts[i] + ":\n";
    open.assign(parts.begin(), parts.end() - 1);
    const std::string indent((parts.size() - 1) * 2, ' ');
    std::string facts = d.help;
    if (!d.seed_note.empty()) facts += " (" + d.seed_note + ")";
    append_comment(out, facts, indent);
    append_comment(out,
                   fmt::format("{} profile default: {}", config::profile_name(answers.profile),
                               config::detail::format_yaml(d.profile_default(answers.profile))),
                   indent);
    out += indent + parts.back() + ": " + config::detail::format_yaml(*v) + '\n';
  }
  auto check = config::load_string(schema_, out, "picket init output");
  if (!check.errors.empty()) {
    std::string all;
    for (const auto& e : check.errors) all += (all.empty() ? "" : "\n") + e.to_string();
    return core::make_error(std::move(all));
  }
  return out;
}

}  // namespace picket::app
