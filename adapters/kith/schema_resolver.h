#pragma once
// Where libxml2 may read from. The directorate's XSDs import kith.xsd, felleskomponent1.xsd,
// xmldsig-core-schema.xsd and the EPJ components by web address or as siblings; a resolver maps
// each such reference, by file name, to a file in one local directory and refuses the rest. The
// network is never used: Helsebro's loader replaces libxml2's for the whole process.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro::kith {

/// Thread-safe.
class SchemaResolver {
 public:
  /// Serves the *.xsd files directly in `dir`.
  explicit SchemaResolver(std::filesystem::path dir);

  /// The local file for a URL or path libxml2 asks for: a file of the directory named by its
  /// path, or one whose name is the last segment of the reference (http://www.kith.no/xmlstds/
  /// kith.xsd → kith.xsd). nullopt when there is none: the load is refused.
  std::optional<std::filesystem::path> resolve(std::string_view reference) const;

  struct Load {
    std::string reference;  // what libxml2 asked for
    std::string file;       // the file it got; "" when refused
  };
  /// Every load asked of this resolver while it was active (see ResolverScope), in order.
  std::vector<Load> loads() const;
  /// Records a load; used by the process's entity loader.
  std::optional<std::filesystem::path> resolve_and_record(std::string_view reference) const;

 private:
  std::filesystem::path dir_;
  std::set<std::string> files_;
  mutable std::mutex mutex_;
  mutable std::vector<Load> loads_;
};

/// Makes `resolver` the one libxml2's loads go to on this thread while the scope lives. Outside
/// any scope every load is refused: messages never load DTDs, external entities or schemas.
class ResolverScope {
 public:
  explicit ResolverScope(const SchemaResolver& resolver);
  ~ResolverScope();
  ResolverScope(const ResolverScope&) = delete;
  ResolverScope& operator=(const ResolverScope&) = delete;

 private:
  const SchemaResolver* previous_;
};

/// Initialises libxml2 once per process and installs Helsebro's external entity loader.
/// Thread-safe; every function of this library that uses libxml2 calls it first.
void init_libxml();

/// How many loads were refused outside any ResolverScope since the process started.
std::uint64_t refused_loads();

}  // namespace helsebro::kith
