package dev.ferry.agent.capture;

import java.util.Set;

/**
 * Tells the cluster which pods this agent has captured, so that source agents on other nodes know they may tunnel
 * to them over HBONE ({@code hboneOutbound: auto}). Called with the whole captured set after every change; must not
 * block (the caller is the CNI thread).
 */
public interface CapturedPodMarker extends AutoCloseable {
    /** No marking: the mesh file carries the annotation itself (the simulation's control plane writes it). */
    CapturedPodMarker NONE = new CapturedPodMarker() {
        @Override
        public void captured(Set<String> pods) {}

        @Override
        public void close() {}
    };

    /** @param pods the captured pods, as {@code namespace/name} */
    void captured(Set<String> pods);

    @Override
    void close();
}
