#include "adapters/kith/message_header.h"

#include <algorithm>

#include <libxml/tree.h>

#include <pugixml.hpp>

#include "adapters/kith/identifiers.h"
#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

// ---- libxml2: shape ----

bool is_element(const xmlNode* n, const char* local) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST local);
}

std::string ns_of(const xmlNode* n) {
  return n->ns != nullptr && n->ns->href != nullptr ? reinterpret_cast<const char*>(n->ns->href)
                                                    : "";
}

void step(std::string& path, const char* name, int position) {
  path.append("/");
  path.append(name);
  if (position > 0) {
    path.append("[");
    path.append(std::to_string(position));
    path.append("]");
  }
}

// Payloads below one Document (MsgHead/Document or PatientReport/Document).
void document_payloads(const xmlNode* document, const std::string& at, std::vector<Payload>& out) {
  for (const xmlNode* ref = document->children; ref != nullptr; ref = ref->next) {
    if (!is_element(ref, "RefDoc")) continue;
    for (const xmlNode* content = ref->children; content != nullptr; content = content->next) {
      if (!is_element(content, "Content")) continue;
      for (const xmlNode* item = content->children; item != nullptr; item = item->next) {
        if (item->type != XML_ELEMENT_NODE) continue;
        std::string path = at;
        path.append("/RefDoc/Content/");
        path.append(reinterpret_cast<const char*>(item->name));
        out.push_back(
            Payload{ns_of(item), reinterpret_cast<const char*>(item->name), std::move(path)});
      }
    }
  }
}

std::vector<Payload> msghead_payloads(const xmlNode* root) {
  std::vector<Payload> out;
  int documents = 0;
  for (const xmlNode* c = root->children; c != nullptr; c = c->next)
    documents += is_element(c, "Document");
  int position = 0;
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (is_element(c, "Document")) {
      std::string at = "/MsgHead";
      step(at, "Document", documents > 1 ? ++position : 0);
      document_payloads(c, at, out);
    } else if (is_element(c, "PatientReport")) {
      for (const xmlNode* d = c->children; d != nullptr; d = d->next) {
        if (is_element(d, "Document")) document_payloads(d, "/MsgHead/PatientReport/Document", out);
      }
    }
  }
  return out;
}

// ---- pugixml: facts (names are canonical "prefix:local") ----

std::string_view local_of(const char* qname) {
  std::string_view name(qname);
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(pugi::xml_node parent, std::string_view local) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_of(c.name()) == local) return c;
  }
  return {};
}

template <class Visit>
void each_child(pugi::xml_node parent, std::string_view local, Visit&& visit) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_of(c.name()) == local) visit(c);
  }
}

std::string text_of(pugi::xml_node n) {
  return std::string(trim_xml_space(n.child_value()));
}

// V and S are xs:token: the schema takes " FNR " as FNR, so they are compared as such (a V with
// spaces around it would otherwise pass as another kind of id, unchecked).
Coded coded(pugi::xml_node n) {
  return Coded{std::string(trim_xml_space(n.attribute("V").value())),
               std::string(trim_xml_space(n.attribute("S").value())), n.attribute("DN").value()};
}

// A TS (V attribute) or, in MsgHead, an element holding the dateTime as text.
std::string date_of(pugi::xml_node n) {
  const pugi::xml_attribute v = n.attribute("V");
  return v ? std::string(trim_xml_space(v.value())) : text_of(n);
}

Ident ident(pugi::xml_node n, std::string_view id_name, std::string_view type_name) {
  return Ident{text_of(child(n, id_name)), coded(child(n, type_name))};
}

void append_name_part(std::string& name, pugi::xml_node part) {
  const std::string text = text_of(part);
  if (text.empty()) return;
  if (!name.empty()) name.append(" ");
  name.append(text);
}

// MsgHead's HealthcareProfessional and Organisation.
Party msghead_person(pugi::xml_node hcp) {
  Party p;
  p.person = true;
  append_name_part(p.name, child(hcp, "GivenName"));
  append_name_part(p.name, child(hcp, "MiddleName"));
  append_name_part(p.name, child(hcp, "FamilyName"));
  each_child(hcp, "Ident", [&](pugi::xml_node i) { p.ids.push_back(ident(i, "Id", "TypeId")); });
  return p;
}

Party msghead_organisation(pugi::xml_node org) {
  Party p;
  p.name = text_of(child(org, "OrganisationName"));
  each_child(org, "Ident", [&](pugi::xml_node i) { p.ids.push_back(ident(i, "Id", "TypeId")); });
  each_child(org, "Organisation",
             [&](pugi::xml_node o) { p.units.push_back(msghead_organisation(o)); });
  each_child(org, "HealthcareProfessional",
             [&](pugi::xml_node h) { p.persons.push_back(msghead_person(h)); });
  return p;
}

// The standalone messages' and AppRec's Inst, Dept, HCPerson and HCProf share one shape.
Party hcp_entity(pugi::xml_node n, bool person) {
  Party p;
  p.person = person;
  p.name = text_of(child(n, "Name"));
  Ident main = ident(n, "Id", "TypeId");
  if (!main.id.empty()) p.ids.push_back(std::move(main));
  each_child(n, "AdditionalId", [&](pugi::xml_node a) { p.ids.push_back(ident(a, "Id", "Type")); });
  each_child(n, "Dept", [&](pugi::xml_node d) { p.units.push_back(hcp_entity(d, false)); });
  each_child(n, "HCPerson", [&](pugi::xml_node h) { p.persons.push_back(hcp_entity(h, true)); });
  return p;
}

std::optional<Party> hcp(pugi::xml_node holder) {
  const pugi::xml_node h = child(holder, "HCP");
  if (const pugi::xml_node inst = child(h, "Inst")) return hcp_entity(inst, false);
  if (const pugi::xml_node prof = child(h, "HCProf")) return hcp_entity(prof, true);
  return std::nullopt;
}

void msghead_facts(pugi::xml_node root, MessageHeader& h) {
  const pugi::xml_node info = child(root, "MsgInfo");
  h.type = coded(child(info, "Type"));
  h.mig_version = text_of(child(info, "MIGversion"));
  h.gen_date = text_of(child(info, "GenDate"));
  h.msg_id = text_of(child(info, "MsgId"));
  h.msg_id_path = "/MsgHead/MsgInfo/MsgId";
  if (const pugi::xml_node org = child(child(info, "Sender"), "Organisation"))
    h.sender = msghead_organisation(org);
  if (const pugi::xml_node org = child(child(info, "Receiver"), "Organisation")) {
    h.receivers.push_back(msghead_organisation(org));
  }
  h.receiver_path = "/MsgHead/MsgInfo/Receiver/Organisation";
  h.patient.path = "/MsgHead/MsgInfo/Patient";
  if (const pugi::xml_node patient = child(info, "Patient")) {
    h.patient.present = true;
    each_child(patient, "Ident",
               [&](pugi::xml_node i) { h.patient.ids.push_back(ident(i, "Id", "TypeId")); });
  }
}

void standalone_facts(pugi::xml_node root, MessageHeader& h) {
  h.type = coded(child(root, "Type"));
  h.status = coded(child(root, "Status")).v;
  h.mig_version = text_of(child(root, "MIGversion"));
  h.gen_date = date_of(child(root, "GenDate"));
  h.msg_id = text_of(child(root, "MsgId"));
  h.msg_id_path = "/Message/MsgId";
  // A request (ServReq) goes from its Requester to its ServProvider; a report (ServRprt in
  // Epikrise, ServReport in Svarrapport) the other way, with copies to each CopyDest.
  pugi::xml_node body = child(root, "ServReq");
  const bool request = static_cast<bool>(body);
  std::string body_name = "ServReq";
  for (const char* report : {"ServRprt", "ServReport"}) {
    if (!body && (body = child(root, report))) body_name = report;
  }
  const std::string at = cat({"/Message/", body_name});
  const char* from = request ? "Requester" : "ServProvider";
  const char* to = request ? "ServProvider" : "Requester";
  h.sender = hcp(child(body, from));
  if (auto addressee = hcp(child(body, to))) h.receivers.push_back(std::move(*addressee));
  each_child(body, "CopyDest", [&](pugi::xml_node c) {
    if (auto copy = hcp(c)) h.receivers.push_back(std::move(*copy));
  });
  h.receiver_path = cat({at, "/", to, "/HCP"});
  h.patient.path = cat({at, "/Patient"});
  if (const pugi::xml_node patient = child(body, "Patient")) {
    h.patient.present = true;
    Ident id{text_of(child(patient, "OffId")), coded(child(patient, "TypeOffId"))};
    if (!id.id.empty() || !id.type.v.empty()) h.patient.ids.push_back(std::move(id));
  }
}

void apprec_facts(pugi::xml_node root, MessageHeader& h) {
  h.type = coded(child(root, "MsgType"));
  h.mig_version = text_of(child(root, "MIGversion"));
  h.gen_date = text_of(child(root, "GenDate"));
  h.msg_id = text_of(child(root, "Id"));
  h.msg_id_path = "/AppRec/Id";
  h.sender = hcp(child(root, "Sender"));
  if (auto receiver = hcp(child(root, "Receiver"))) h.receivers.push_back(std::move(*receiver));
  h.receiver_path = "/AppRec/Receiver/HCP";
}

}  // namespace

bool Party::identified() const {
  if (!name.empty()) return true;
  for (const Ident& i : ids) {
    if (!i.id.empty()) return true;
  }
  return false;
}

std::vector<std::string> Party::ids_of_type(std::string_view type) const {
  std::vector<std::string> out;
  for (const Ident& i : ids) {
    if (i.type.v == type && !i.id.empty()) out.push_back(i.id);
  }
  for (const auto* group : {&units, &persons}) {
    for (const Party& p : *group) {
      auto more = p.ids_of_type(type);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
  return out;
}

void read_shape(const XmlDocument& doc, const SchemaIndex& index, MessageHeader& header) {
  const xmlNode* root = doc.get() != nullptr ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root == nullptr) return;
  header.root_ns = ns_of(root);
  header.root_element = reinterpret_cast<const char*>(root->name);
  const SchemaEntry* entry = index.find(header.root_ns);
  header.envelope = Envelope::kOther;
  if (entry == nullptr) return;
  if (entry->kind == SchemaKind::kEnvelope && header.root_element == "MsgHead") {
    header.envelope = Envelope::kMsgHead;
    header.payloads = msghead_payloads(root);
    // A MsgHead that carries receipts and nothing else is a receipt too (MsgInfo/Type APPREC).
    header.receipt = !header.payloads.empty() &&
                     std::all_of(header.payloads.begin(), header.payloads.end(), [&](const Payload& p) {
                       const SchemaEntry* e = index.find(p.ns);
                       return e != nullptr && e->kind == SchemaKind::kReceipt && p.element == "AppRec";
                     });
  } else if (entry->kind == SchemaKind::kReceipt && header.root_element == "AppRec") {
    header.envelope = Envelope::kAppRec;
    header.receipt = true;
  } else if (entry->kind == SchemaKind::kMessage && header.root_element == "Message") {
    header.envelope = Envelope::kStandalone;
  }
}

void read_facts(const pugi::xml_document& doc, MessageHeader& header) {
  const pugi::xml_node root = doc.document_element();
  switch (header.envelope) {
    case Envelope::kMsgHead:
      msghead_facts(root, header);
      break;
    case Envelope::kStandalone:
      standalone_facts(root, header);
      break;
    case Envelope::kAppRec:
      apprec_facts(root, header);
      break;
    case Envelope::kOther:
      break;
  }
}

}  // namespace helsebro::kith
