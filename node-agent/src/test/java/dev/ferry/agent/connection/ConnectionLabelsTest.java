package dev.ferry.agent.connection;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import org.junit.jupiter.api.Test;

/** The hand-written equals and hashCode cover every label: a missed one would merge two label sets' metrics. */
class ConnectionLabelsTest {
    private static ConnectionLabels labels(int changed) throws Exception {
        RecordComponent[] parts = ConnectionLabels.class.getRecordComponents();
        Object[] values = new Object[parts.length];
        Class<?>[] types = new Class<?>[parts.length];
        for (int i = 0; i < parts.length; i++) {
            types[i] = parts[i].getType();
            values[i] = i == changed ? "other" : "value-" + i;
        }
        return ConnectionLabels.class.getDeclaredConstructor(types).newInstance(values);
    }

    @Test
    void equalLabelsHashAlike() throws Exception {
        assertThat(labels(-1)).isEqualTo(labels(-1)).hasSameHashCodeAs(labels(-1));
    }

    @Test
    void everyLabelTellsTwoSetsApart() throws Exception {
        int n = ConnectionLabels.class.getRecordComponents().length;
        for (int i = 0; i < n; i++) {
            assertThat(labels(i)).as("label %d", i).isNotEqualTo(labels(-1));
            assertThat(labels(i).hashCode())
                    .as("label %d", i)
                    .isNotEqualTo(labels(-1).hashCode());
        }
    }

    @Test
    void unknownLabelsAreNullSafe() throws Exception {
        ConnectionLabels a = new ConnectionLabels("r", null, null, null, null, null, null, null, null, null, null);
        ConnectionLabels b = new ConnectionLabels("r", null, null, null, null, null, null, null, null, null, null);
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(labels(-1));
    }
}
