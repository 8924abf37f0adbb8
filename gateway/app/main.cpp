// The helsebro command: serve, map, and the version.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "gateway/app/inspect_command.h"
#include "gateway/app/lint_command.h"
#include "gateway/app/map_command.h"
#include "gateway/app/mappings.h"
#include "gateway/app/replay.h"
#include "gateway/journal/sqlite_journal.h"
#include "gateway/app/server.h"
#include "gateway/config/config.h"

#ifndef HELSEBRO_VERSION
#define HELSEBRO_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kUsage = R"(usage: helsebro <command> [options]

commands:
  serve [--config FILE]        run the gateway (MLLP, HTTP, journal, forwarder)
  map FILE [--expect EXPECTED.json] [--unmapped] [--no-validate] [--config FILE]
                               translate one HL7 v2 message and print the FHIR Bundle, or
                               compare it with an expected one; --unmapped lists the non-empty
                               components and sub-components no rule read; --no-validate leaves out the FHIR
                               validation the gateway runs (the Bundle is shown even if it
                               would be refused); --repeat N times parse + map +
                               validate + serialize and prints the rate
  lint [DIR]                   check every mapping, datatype and terminology file (default: the
                               mappings directory) against its schema and compile the set
  replay --id ID [--id ID…] | replay --state STATE [--since DATE]
                               read stored messages again (HL7 v2, KITH e-messages, FHIR JSON)
                               with the current schemas and mappings and queue them for
                               delivery (dead letters once fixed, held ones once a mapping takes
                               them); the running gateway picks them up
  inspect FILE… [--repeat N] [--quiet]
                               show how each HL7 v2 message is read (JSON), or where it fails;
                               --repeat parses N times and --quiet prints only the rate
  --version                    print the version

Without --config the embedded defaults apply. Environment overrides for every command:
HELSEBRO_MLLP_PORT, HELSEBRO_HTTP_PORT, HELSEBRO_DATA_DIR, HELSEBRO_FHIR_BASE_URL,
HELSEBRO_MAPPINGS_DIR.
)";

struct Arguments {
  std::string command;
  std::vector<std::string> positional;
  std::optional<std::string> config_file;
  long repeat = 1;
  bool quiet = false;
  std::optional<std::string> expect_file;
  bool unmapped = false;
  bool validate = true;
  std::vector<std::string> ids;
  std::optional<std::string> state;
  std::optional<std::string> since;
};

bool parse_arguments(int argc, char** argv, Arguments& out, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) {
        error = "--config needs a file";
        return false;
      }
      out.config_file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      out.config_file = arg.substr(9);
    } else if (arg == "--repeat") {
      if (i + 1 >= argc || std::atol(argv[i + 1]) < 1) {
        error = "--repeat needs a positive count";
        return false;
      }
      out.repeat = std::atol(argv[++i]);
    } else if (arg == "--quiet") {
      out.quiet = true;
    } else if (arg == "--id" || arg == "--state" || arg == "--since") {
      if (i + 1 >= argc) {
        error = arg + " needs a value";
        return false;
      }
      const std::string value = argv[++i];
      if (arg == "--id") {
        out.ids.push_back(value);
        // --id ID…: the arguments after it that are no options are ids too.
        while (i + 1 < argc && argv[i + 1][0] != '-' && !out.command.empty()) out.ids.emplace_back(argv[++i]);
      } else if (arg == "--state") {
        out.state = value;
      } else {
        out.since = value;
      }
    } else if (arg == "--unmapped") {
      out.unmapped = true;
    } else if (arg == "--no-validate") {
      out.validate = false;
    } else if (arg == "--expect") {
      if (i + 1 >= argc) {
        error = "--expect needs a file";
        return false;
      }
      out.expect_file = argv[++i];
    } else if (out.command.empty()) {
      out.command = arg;
    } else if (!arg.empty() && arg[0] == '-') {
      error = "unknown option " + arg;
      return false;
    } else {
      out.positional.push_back(arg);
    }
  }
  return true;
}

int replay_command(const helsebro::config::Config& config, const Arguments& args) {
  using namespace helsebro;
  if (!args.positional.empty()) {
    std::cerr << "helsebro replay: unexpected argument '" << args.positional.front()
              << "' (ids follow --id: replay --id ID…)\n";
    return 2;
  }
  MessageQuery query;
  query.ids = args.ids;
  if (args.state) {
    query.state = parse_message_state(*args.state);
    if (!query.state) {
      std::cerr << "helsebro replay: unknown state '" << *args.state
                << "' (received, translated, delivered, rejected, failed, dead, held)\n";
      return 2;
    }
  }
  if (args.since) {
    auto since = app::parse_utc_time(*args.since);
    if (!since) {
      std::cerr << "helsebro replay: --since takes 2026-11-01 or 2026-11-01T12:00:00Z\n";
      return 2;
    }
    query.received_since = *since;
  }
  if (query.ids.empty() && !query.state) {
    std::cerr << "helsebro replay: give --id ID… or --state STATE\n";
    return 2;
  }
  auto set = app::load_mappings(config.mappings_dir, app::kith_schema_dir(config), app::KithSchemas::kOptional);
  if (!set) {
    std::cerr << "helsebro replay: mappings: " << set.error().detail << "\n";
    return 2;
  }
  journal::SqliteJournal journal(config.data_dir);
  auto summary = app::replay_messages(journal, **set, query, Clock{}, app::replay_rules(config));
  journal.close();
  if (!summary) {
    std::cerr << "helsebro replay: " << summary.error().message() << "\n";
    return 2;
  }
  std::cout << summary->translated << " message(s) queued for delivery again\n";
  for (const auto& [id, why] : summary->rejected) std::cout << id << ": refused by the mapping: " << why << "\n";
  for (const auto& id : summary->not_found) std::cout << id << ": no such message\n";
  for (const auto& id : summary->held) std::cout << id << ": still held: no mapping takes its type\n";
  for (const auto& [id, why] : summary->skipped) std::cout << id << ": not replayed: " << why << "\n";
  if (summary->stopped_by) {
    std::cerr << "helsebro replay: stopped after the messages above: " << *summary->stopped_by << "\n";
    return 2;
  }
  return summary->rejected.empty() && summary->not_found.empty() && summary->skipped.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  std::string error;
  if (!parse_arguments(argc, argv, args, error)) {
    std::cerr << "helsebro: " << error << "\n" << kUsage;
    return 2;
  }
  if (args.command == "--version" || args.command == "version") {
    std::cout << "helsebro " << HELSEBRO_VERSION << "\n";
    return 0;
  }
  if (args.command.empty() || args.command == "help" || args.command == "--help" || args.command == "-h") {
    std::cout << kUsage;
    return args.command.empty() ? 2 : 0;
  }
  if (args.command == "inspect") {
    if (args.positional.empty()) {
      std::cerr << "helsebro inspect: expected one or more FILEs\n";
      return 2;
    }
    return helsebro::app::inspect_files({args.positional, args.repeat, args.quiet}, std::cout, std::cerr);
  }
  helsebro::config::Config config;
  try {
    config = helsebro::config::load_config(args.config_file);
  } catch (const helsebro::config::ConfigError& e) {
    std::cerr << "helsebro: configuration: " << e.what() << "\n";
    return 2;
  }
  if (args.command == "serve") {
    if (!args.positional.empty()) {
      std::cerr << "helsebro serve: unexpected argument " << args.positional.front() << "\n";
      return 2;
    }
    try {
      return helsebro::app::serve(config);
    } catch (const std::exception& e) {
      std::cerr << "helsebro serve: " << e.what() << "\n";
      return 2;
    }
  }
  if (args.command == "lint") {
    if (args.positional.size() > 1) {
      std::cerr << "helsebro lint: expected at most one DIR\n";
      return 2;
    }
    const std::string dir = args.positional.empty() ? config.mappings_dir : args.positional.front();
    // The KITH schemas the gateway would use: the configuration's, else beside the mappings.
    const std::string schemas =
        config.kith.configured ? config.kith.schemas_dir : helsebro::app::default_kith_schema_dir(dir);
    return helsebro::app::lint_mappings(dir, schemas, std::cout, std::cerr);
  }
  if (args.command == "replay") return replay_command(config, args);
  if (args.command == "map") {
    if (args.positional.size() != 1) {
      std::cerr << "helsebro map: expected exactly one FILE\n";
      return 2;
    }
    return helsebro::app::map_file(config, {args.positional.front(), args.expect_file, args.unmapped, args.repeat, args.validate},
                                   std::cout, std::cerr);
  }
  std::cerr << "helsebro: unknown command '" << args.command << "'\n" << kUsage;
  return 2;
}
