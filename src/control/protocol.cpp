#include "control/protocol.hpp"

#include <array>

#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::control {

namespace {

constexpr std::array<std::string_view, 7> kCommands = {"status", "bans", "ban", "unban", "reload", "events", "top"};
constexpr std::array<std::string_view, 4> kEventTypes = {"alert", "decision", "anomaly", "stats"};

core::Result<void> check_target(const Json& req) {
  auto it = req.find("target");
  if (it == req.end() || !it->is_string()) return core::make_error("\"target\" must be an address or prefix string");
  if (!core::Prefix::parse(it->get<std::string>(), false)) {
    return core::make_error("\"target\": not an address or prefix: " + it->get<std::string>());
  }
  return {};
}

}  // namespace

core::Result<Json> parse_request(std::string_view line) {
  Json req = Json::parse(line.begin(), line.end(), nullptr, false);
  if (req.is_discarded()) return core::make_error("malformed request: not JSON");
  if (!req.is_object()) return core::make_error("malformed request: not a JSON object");
  auto v = req.find("v");
  if (v == req.end() || !v->is_number_integer()) return core::make_error("malformed request: no protocol version \"v\"");
  if (v->get<int64_t>() != kProtocolVersion) {
    return core::make_error("unsupported protocol version " + v->dump() + " (this picket speaks 1)");
  }
  auto c = req.find("cmd");
  if (c == req.end() || !c->is_string()) return core::make_error("malformed request: no \"cmd\"");
  const std::string cmd = c->get<std::string>();
  bool known = false;
  for (auto k : kCommands) known = known || k == cmd;
  if (!known) return core::make_error("unknown command \"" + cmd + "\"");

  if (cmd == "ban") {
    if (auto r = check_target(req); !r) return r.error();
    if (auto d = req.find("duration"); d != req.end()) {
      if (!d->is_string()) return core::make_error("\"duration\" must be a string such as \"10m\"");
      auto dur = core::parse_duration(d->get<std::string>());
      if (!dur || dur->ns < 0) return core::make_error("\"duration\": not a duration: " + d->get<std::string>());
    }
    if (auto r = req.find("reason"); r != req.end() && !r->is_string()) return core::make_error("\"reason\" must be a string");
  } else if (cmd == "unban") {
    const auto all = req.find("all");
    const bool everything = all != req.end() && all->is_boolean() && all->get<bool>();
    if (all != req.end() && !all->is_boolean()) return core::make_error("\"all\" must be true or false");
    if (!everything) {
      if (auto r = check_target(req); !r) return r.error();
    }
  } else if (cmd == "events") {
    if (auto t = req.find("types"); t != req.end()) {
      if (!t->is_array()) return core::make_error("\"types\" must be a list of event types");
      for (const auto& e : *t) {
        bool ok = e.is_string();
        if (ok) {
          ok = false;
          for (auto k : kEventTypes) ok = ok || k == e.get<std::string>();
        }
        if (!ok) return core::make_error("\"types\": unknown event type " + e.dump());
      }
    }
  }
  return req;
}

Json ok_reply(Json result) {
  Json r = Json::object();
  r["v"] = kProtocolVersion;
  r["ok"] = true;
  r["result"] = std::move(result);
  return r;
}

Json error_reply(std::string_view message) {
  Json r = Json::object();
  r["v"] = kProtocolVersion;
  r["ok"] = false;
  r["error"] = std::string(message);
  return r;
}

}  // namespace picket::control
