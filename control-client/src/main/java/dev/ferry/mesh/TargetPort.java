package dev.ferry.mesh;

import java.util.Optional;

/** A Service port's targetPort: a number, or the name of a container port resolved per endpoint. */
public record TargetPort(int number, String name) {
    public static TargetPort ofNumber(int number) {
        return new TargetPort(number, null);
    }

    public static TargetPort ofName(String name) {
        return new TargetPort(0, name);
    }

    /** The port on this workload, or empty when the workload has no container port of that name. */
    public Optional<Integer> resolve(Workload workload) {
        return name == null ? Optional.of(number) : workload.namedPort(name);
    }

    @Override
    public String toString() {
        return name == null ? Integer.toString(number) : name;
    }
}
