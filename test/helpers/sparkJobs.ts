// SparkPi (the classic Monte Carlo estimate) and an HDFS round trip, compiled on the master with
// the Scala compiler in Spark's own jars (the pyspark sdist carries no examples jar).
export const JOBS = `
import org.apache.spark.sql.SparkSession
import scala.math.random
object SparkPi {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder.appName("SparkPi").getOrCreate()
    val slices = if (args.length > 0) args(0).toInt else 4
    val n = 100000 * slices
    val count = spark.sparkContext.parallelize(1 until n, slices).map { _ =>
      val x = random() * 2 - 1; val y = random() * 2 - 1
      if (x * x + y * y <= 1) 1 else 0
    }.reduce(_ + _)
    println(s"Pi is roughly \${4.0 * count / (n - 1)}")
    val execs = spark.sparkContext.getExecutorMemoryStatus.keys.map(_.split(":")(0)).filter(_ != spark.sparkContext.getConf.get("spark.driver.host")).toSet
    println(s"executor hosts: \${execs.toSeq.sorted.mkString(",")}")
    spark.stop()
  }
}
object HdfsWrite {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder.appName("HdfsWrite").getOrCreate()
    spark.sparkContext.parallelize(1 to 10000, 4).map(i => s"line-$i").saveAsTextFile(args(0))
    println(s"wrote \${args(0)}")
    spark.stop()
  }
}
object HdfsRead {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder.appName("HdfsRead").getOrCreate()
    val lines = spark.sparkContext.textFile(args(0))
    println(s"read \${lines.count()} lines, sum \${lines.map(_.stripPrefix("line-").toLong).reduce(_ + _)}")
    spark.stop()
  }
}
`;
