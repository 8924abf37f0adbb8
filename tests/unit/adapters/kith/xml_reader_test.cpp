#include "adapters/kith/xml_reader.h"

#include <gtest/gtest.h>
#include <libxml/tree.h>

#include <string>

#include "adapters/kith/schema_resolver.h"

namespace helsebro::kith {
namespace {

std::string root_text(const XmlDocument& doc) {
  xmlChar* content = xmlNodeGetContent(xmlDocGetRootElement(doc.get()));
  std::string text = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  return text;
}

TEST(KithXmlReader, ReadsWellFormedXml) {
  auto doc = read_xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a><b>tekst</b></a>");
  ASSERT_TRUE(doc) << doc.error().detail;
  EXPECT_EQ(doc->declared_encoding(), "UTF-8");
  EXPECT_EQ(root_text(*doc), "tekst");
}

TEST(KithXmlReader, ReportsTruncatedInputWithLineAndColumn) {
  auto doc = read_xml("<?xml version=\"1.0\"?>\n<a>\n  <b>tekst</b>\n  <c>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kNotWellFormed);
  EXPECT_EQ(doc.error().line, 4u);
  EXPECT_GT(doc.error().column, 0u);
  EXPECT_FALSE(doc.error().detail.empty());
}

TEST(KithXmlReader, ReportsMismatchedTagWhereItIs) {
  auto doc = read_xml("<a>\n<b>\n</a>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kNotWellFormed);
  EXPECT_EQ(doc.error().line, 3u);
}

TEST(KithXmlReader, RefusesEmptyInputAndText) {
  EXPECT_FALSE(read_xml(""));
  EXPECT_FALSE(read_xml("MSH|^~\\&|"));
}

TEST(KithXmlReader, RefusesInputOverTheSizeLimitBeforeParsing) {
  auto doc = read_xml("<a>0123456789</a>", ReadLimits{10});
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kTooLarge);
  EXPECT_TRUE(read_xml("<a>0123456789</a>", ReadLimits{17}));
}

// libxml2 takes time that grows with the square of an element's attributes and of the namespace
// declarations in scope: 70,000 attributes took 4.8 s of CPU in a 1 MB body, 32 s at 4 MB. Such
// input is refused before it is parsed; what looks like markup inside comments, CDATA sections,
// processing instructions and quoted values is not counted.
TEST(KithXmlReader, RefusesTooManyAttributesOrNamespacesBeforeParsing) {
  auto element_with = [](int attributes, const std::string& name) {
    std::string xml = "<?xml version=\"1.0\"?>\n<a";
    for (int i = 0; i < attributes; ++i) xml += " " + name + std::to_string(i) + "=\"v\"";
    return xml + "/>";
  };
  EXPECT_TRUE(read_xml(element_with(256, "x")));
  auto many = read_xml(element_with(257, "x"));
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().kind, XmlFault::Kind::kTooComplex);
  EXPECT_EQ(many.error().line, 2u);
  EXPECT_NE(many.error().detail.find("more than 256 attributes"), std::string::npos);

  // 300 declarations in scope: 30 on each of ten nested elements.
  std::string nested, closing;
  for (int level = 0; level < 10; ++level) {
    nested += "<e" + std::to_string(level);
    for (int i = 0; i < 30; ++i) nested += " xmlns:p" + std::to_string(level * 30 + i) + "=\"urn:x\"";
    nested += ">";
    closing = "</e" + std::to_string(level) + ">" + closing;
  }
  auto declared = read_xml(nested + closing);
  ASSERT_FALSE(declared);
  EXPECT_EQ(declared.error().kind, XmlFault::Kind::kTooComplex);
  EXPECT_NE(declared.error().detail.find("more than 256 namespace declarations in scope"), std::string::npos);
  // The same declaration on each of 1,000 siblings (as some generators write it), whether the
  // elements are empty or closed: never more than one in scope.
  std::string siblings = "<r>";
  for (int i = 0; i < 500; ++i) siblings += "<e xmlns=\"urn:v\"/><f xmlns=\"urn:v\">t</f>";
  EXPECT_TRUE(read_xml(siblings + "</r>"));

  std::string hidden = "<r a='b> x=1 y=2 z=3 /'><!-- <c";  // none of it is an attribute of anything
  for (int i = 0; i < 300; ++i) hidden += " xmlns:q" + std::to_string(i) + "='u'";
  hidden += " --><![CDATA[<d";
  for (int i = 0; i < 300; ++i) hidden += " k" + std::to_string(i) + "='u'";
  hidden += "]]><?pi <e f='g'?></r>";
  EXPECT_TRUE(read_xml(hidden)) << (read_xml(hidden) ? "" : read_xml(hidden).error().detail);

  // UTF-16 is counted by its 16-bit units.
  std::string utf16 = "\xFF\xFE";
  for (char c : element_with(257, "x").substr(std::string("<?xml version=\"1.0\"?>\n").size())) {
    utf16 += c;
    utf16 += '\0';
  }
  auto wide = read_xml(utf16);
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().kind, XmlFault::Kind::kTooComplex);
}

TEST(KithXmlReader, RefusesDoctypeWithoutExpandingItsEntities) {
  const std::uint64_t refused_before = refused_loads();
  auto doc = read_xml(
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE a [<!ENTITY x \"xxxxxxxxxx\"><!ENTITY y \"&x;&x;&x;&x;&x;&x;&x;&x;&x;&x;\">]>\n"
      "<a>&y;</a>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kDoctype);
  EXPECT_EQ(doc.error().line, 2u);
  EXPECT_EQ(refused_loads(), refused_before);
}

TEST(KithXmlReader, RefusesExternalEntitiesWithoutLoadingThem) {
  const std::uint64_t refused_before = refused_loads();
  auto doc = read_xml(
      "<!DOCTYPE a SYSTEM \"http://example.invalid/a.dtd\" [<!ENTITY e SYSTEM "
      "\"file:///etc/passwd\">]>"
      "<a>&e;</a>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kDoctype);
  // The parser stopped at the DOCTYPE: the loader was never asked for the DTD or the entity.
  EXPECT_EQ(refused_loads(), refused_before);
}

TEST(KithXmlReader, TreatsAnUndeclaredEntityAsNotWellFormed) {
  auto doc = read_xml("<a>&undeclared;</a>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kNotWellFormed);
}

TEST(KithXmlReader, KeepsThePredefinedAndCharacterReferences) {
  auto doc = read_xml("<a>&lt;&amp;&#xE6;</a>");
  ASSERT_TRUE(doc);
  EXPECT_EQ(root_text(*doc), "<&\xC3\xA6");
}

TEST(KithXmlReader, RefusesAnUndeclaredNamespacePrefix) {
  auto doc = read_xml("<a xsi:schemaLocation=\"x y\"/>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kNotWellFormed);
}

TEST(KithXmlReader, DecodesIso88591ByTheDeclaration) {
  auto doc = read_xml(
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>K\xF8"
      "fri</a>");
  ASSERT_TRUE(doc) << doc.error().detail;
  EXPECT_EQ(doc->declared_encoding(), "ISO-8859-1");
  EXPECT_EQ(root_text(*doc),
            "K\xC3\xB8"
            "fri");
}

TEST(KithXmlReader, RefusesBytesThatAreNotInTheDeclaredCharset) {
  auto doc = read_xml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>K\xF8"
      "fri</a>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().kind, XmlFault::Kind::kNotWellFormed);
}

TEST(KithXmlReader, ReadsAUtf8ByteOrderMark) {
  auto doc = read_xml("\xEF\xBB\xBF<a>x</a>");
  ASSERT_TRUE(doc);
  EXPECT_EQ(root_text(*doc), "x");
}

}  // namespace
}  // namespace helsebro::kith
