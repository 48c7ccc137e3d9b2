// The control protocol: JSON lines over a unix stream socket, version 1.
//
// Request (one line):  {"v":1,"cmd":"<name>", ...arguments}
// Reply (one line):    {"v":1,"ok":true,"result":{...}}  or  {"v":1,"ok":false,"error":"<one line>"}
//
// Commands (docs/control.md has every field):
//   status                                  uptime, capture, rates, detectors, enforcer health, bans
//   bans                                    the active bans with remaining time and offence count
//   ban     {"target":"ADDR|PREFIX","duration":"10m","reason":"..."}   duration/reason optional
//   unban   {"target":"ADDR|PREFIX"} or {"all":true}
//   reload                                  reload the configuration (the reply says how it went)
//   events  {"types":["alert",...]}         the reply, then one EVE JSON line per event until
//                                           the client closes; types optional (all)
//   top                                     the data `picket top` shows
// Unknown versions, unknown commands and malformed arguments get an error reply.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace picket::control {

inline constexpr int kProtocolVersion = 1;
inline constexpr const char* kDefaultSocket = "/run/picket/picket.sock";

using Json = nlohmann::ordered_json;

// Parses and checks one request line: valid JSON object, "v" == 1, "cmd" a known command with
// arguments of the right types. The error is the text of the error reply.
core::Result<Json> parse_request(std::string_view line);

Json ok_reply(Json result);
Json error_reply(std::string_view message);

// Exit statuses of the client subcommands, for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the daemon answered with an error
inline constexpr int kExitUsage = 2;        // bad arguments
inline constexpr int kExitUnreachable = 3;  // no daemon at the socket (not running, no permission)

}  // namespace picket::control
