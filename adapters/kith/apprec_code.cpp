#include "adapters/kith/apprec_code.h"

#include <array>

namespace helsebro::kith {
namespace {

// Code and display text as in Volven (corpus/kith/kodeverk, code list 8221).
constexpr std::array<AppRecCodeInfo, static_cast<std::size_t>(AppRecCode::kCount)> kCodes{{
    {"T01", "Ikke XML / ikke 'well formed' / uleselig", "not_well_formed"},
    {"T02", "XML validerer ikke", "schema_invalid"},
    {"T10", "Støtter ikke meldingsformatet", "unsupported_format"},
    {"T99", "Annen feil på format", "other_format_error"},
    {"E10", "Ugyldig meldingsidentifikator", "invalid_msg_id"},
    {"E21", "Mottaker finnes ikke", "unknown_receiver"},
    {"E30", "Pasientens fødselsnummer mangler", "patient_id_missing"},
    {"E31", "Pasientens fødselsnummer er feil", "patient_id_invalid"},
    {"E35", "Pasienten finnes ikke i mottakersystemet", "patient_unknown"},
    {"X99", "Annen feil", "other_error"},
}};

}  // namespace

const AppRecCodeInfo& info(AppRecCode code) {
  return kCodes.at(static_cast<std::size_t>(code));
}

std::string_view code_of(AppRecStatus status) {
  switch (status) {
    case AppRecStatus::kOk:
      return "1";
    case AppRecStatus::kRejected:
      return "2";
    case AppRecStatus::kOkErrorInPart:
      return "3";
  }
  return "2";
}

std::string_view display_of(AppRecStatus status) {
  switch (status) {
    case AppRecStatus::kOk:
      return "OK";
    case AppRecStatus::kRejected:
      return "Avvist";
    case AppRecStatus::kOkErrorInPart:
      return "OK, feil i delmelding";
  }
  return "Avvist";
}

}  // namespace helsebro::kith
