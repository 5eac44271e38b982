package dev.kiln.console;

import dev.kiln.history.BuildQueries;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A stack's build history drawn on the server as inline SVG, one panel per measure (build duration,
 * compressed image size) over the same builds, oldest left: nothing to load, nothing to run, and it
 * prints. Every point has a title (build, status, value) that a browser shows on hover; failed builds
 * are marked apart.
 */
final class SvgChart {

    private static final int WIDTH = 720;
    private static final int HEIGHT = 150;
    private static final int LEFT = 64;
    private static final int RIGHT = 12;
    private static final int TOP = 18;
    private static final int BOTTOM = 24;

    private SvgChart() {
    }

    static String of(List<BuildQueries.Point> points) {
        if (points.isEmpty()) {
            return "";
        }
        StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 ").append(WIDTH).append(' ')
                .append(HEIGHT * 2 + 10).append("\" aria-label=\"Build duration and image size over the last ").append(points.size())
                .append(" builds\">");
        panel(svg, points, 0, "Duration (s)", BuildQueries.Point::seconds, v -> String.format(Locale.ROOT, "%.1f s", v), true);
        List<BuildQueries.Point> sized = points.stream().filter(p -> p.compressedBytes() != null).toList();
        panel(svg, points, HEIGHT + 10, "Image size (MB)", p -> p.compressedBytes() == null ? Double.NaN : p.compressedBytes() / 1e6,
                v -> String.format(Locale.ROOT, "%.2f MB", v), !sized.isEmpty());
        return svg.append("</svg>").toString();
    }

    private static void panel(StringBuilder svg, List<BuildQueries.Point> points, int y0, String label, ToDoubleFunction<BuildQueries.Point> value,
                              java.util.function.DoubleFunction<String> format, boolean any) {
        double max = points.stream().mapToDouble(value).filter(v -> !Double.isNaN(v)).max().orElse(0);
        double top = max <= 0 ? 1 : nice(max);
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        svg.append("<g transform=\"translate(0,").append(y0).append(")\">");
        svg.append("<text class=\"chart-label\" x=\"").append(LEFT).append("\" y=\"12\">").append(escape(label)).append("</text>");
        for (int i = 0; i <= 2; i++) {
            double v = top * i / 2;
            int y = TOP + plotH - (int) Math.round(plotH * i / 2.0);
            svg.append("<line class=\"chart-grid\" x1=\"").append(LEFT).append("\" x2=\"").append(WIDTH - RIGHT).append("\" y1=\"").append(y)
                    .append("\" y2=\"").append(y).append("\"/>");
            svg.append("<text class=\"chart-axis\" text-anchor=\"end\" x=\"").append(LEFT - 6).append("\" y=\"").append(y + 4).append("\">")
                    .append(escape(format.apply(v))).append("</text>");
        }
        if (!any) {
            svg.append("<text class=\"chart-axis\" x=\"").append(LEFT + 8).append("\" y=\"").append(TOP + plotH / 2).append("\">no image yet</text>");
        }
        StringBuilder line = new StringBuilder();
        StringBuilder dots = new StringBuilder();
        int n = points.size();
        for (int i = 0; i < n; i++) {
            BuildQueries.Point p = points.get(i);
            double v = value.applyAsDouble(p);
            if (Double.isNaN(v)) {
                continue;
            }
            double x = LEFT + (n == 1 ? plotW / 2.0 : plotW * i / (double) (n - 1));
            double y = TOP + plotH - plotH * v / top;
            line.append(line.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, y));
            dots.append("<circle class=\"chart-dot ").append(p.status().equals("failed") ? "chart-failed" : "chart-" + escape(p.status()))
                    .append("\" r=\"3.5\" cx=\"").append(String.format(Locale.ROOT, "%.1f", x)).append("\" cy=\"")
                    .append(String.format(Locale.ROOT, "%.1f", y)).append("\"><title>build ").append(p.id()).append(" (")
                    .append(escape(p.status())).append("): ").append(escape(format.apply(v))).append("</title></circle>");
        }
        if (!line.isEmpty()) {
            svg.append("<path class=\"chart-line\" d=\"").append(line).append("\"/>");
        }
        svg.append(dots);
        if (n > 0) {
            svg.append("<text class=\"chart-axis\" x=\"").append(LEFT).append("\" y=\"").append(HEIGHT - 6).append("\">build ")
                    .append(points.get(0).id()).append("</text>");
            svg.append("<text class=\"chart-axis\" text-anchor=\"end\" x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(HEIGHT - 6)
                    .append("\">build ").append(points.get(n - 1).id()).append("</text>");
        }
        svg.append("</g>");
    }

    /** The axis top: 1, 2 or 5 times a power of ten, at or above {@code max}. */
    static double nice(double max) {
        double power = Math.pow(10, Math.floor(Math.log10(max)));
        for (double step : new double[] {1, 2, 5, 10}) {
            if (step * power >= max) {
                return step * power;
            }
        }
        return 10 * power;
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
