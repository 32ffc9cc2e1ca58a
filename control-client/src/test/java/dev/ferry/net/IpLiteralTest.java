package dev.ferry.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IpLiteralTest {
    @ParameterizedTest
    @ValueSource(strings = {"10.244.1.5", "0.0.0.0", "255.255.255.255", "1.2.3.4", "192.168.10.100"})
    void acceptsDottedQuads(String text) {
        assertThat(IpLiteral.parseOrNull(text)).isInstanceOf(Inet4Address.class);
        assertThat(IpLiteral.parseOrNull(text).getHostAddress()).isEqualTo(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"::1", "fd00::1", "2001:db8::8:800:200c:417a", "FE80::1", "::", "1:2:3:4:5:6:7:8"})
    void acceptsIpv6(String text) {
        assertThat(IpLiteral.parseOrNull(text)).isInstanceOf(Inet6Address.class);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "999.7.7.8", // what InetAddress.getByName would have sent to DNS
                "256.1.1.1",
                "1.2.3",
                "1.2.3.4.5",
                "127.1",
                "010.1.1.1", // leading zero: octal to some parsers
                "01.2.3.4",
                "1.2.3.04",
                "0x7f.0.0.1",
                "1.2.3.4 ",
                " 1.2.3.4",
                "1.2.3.4\n",
                "localhost",
                "example.com",
                "::ffff:10.0.0.1", // IPv4-mapped: an IPv4 address in disguise
                "::10.0.0.1",
                "fe80::1%eth0",
                "fe80::1%1",
                "[::1]",
                "1:2:3:4:5:6:7:8:9",
                "12345::1",
                ":::",
                "g::1",
                "",
                "1..2.3",
                "١.٢.٣.٤" // Arabic-Indic digits match \d in some regex dialects
            })
    void refusesEverythingElse(String text) {
        assertThat(IpLiteral.parseOrNull(text)).as(text).isNull();
        assertThat(IpLiteral.isLiteral(text)).isFalse();
    }

    @org.junit.jupiter.api.Test
    void errorsNameTheValueCutShort() {
        assertThatThrownBy(() -> IpLiteral.parse("x".repeat(10_000), "field a"))
                .hasMessageStartingWith("field a 'xxxx")
                .hasMessageEndingWith("is not an IP address literal")
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(200));
        assertThat(IpLiteral.parseOrNull(null)).isNull();
    }
}
